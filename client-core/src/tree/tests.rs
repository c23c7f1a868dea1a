use super::*;

fn listing(json: &str) -> Listing {
    serde_json::from_str(json).unwrap()
}

const HOME: &str = r#"{"folder":{"id":1,"parent_id":null,"name":"","kind":"folder"},
  "children":[{"id":5,"parent_id":1,"name":"Straße.txt","kind":"file","version_id":9,"size":3},
              {"id":6,"parent_id":1,"name":"Trip","kind":"folder"}],
  "etag":"\"abc\""}"#;

#[test]
fn a_queued_file_replaces_the_row_of_the_same_name_by_the_server_rule() {
    let mut l = listing(HOME);
    let node = pending_file(4, 1, "STRASSE.txt", 10, 1.0);
    apply(&mut l, &Edit::Add { node });
    let names: Vec<_> = l.children.iter().map(|c| (c.id, c.name.as_str())).collect();
    assert_eq!(names, [(6, "Trip"), (-4, "STRASSE.txt")]);
    assert!(l.children[1].pending);
    assert_eq!(l.children[1].rest["size"], 10);
    assert!(
        !l.rest.contains_key("etag"),
        "the guess is not what the tag named"
    );
}

#[test]
fn folders_are_added_renamed_moved_and_removed() {
    let mut l = listing(HOME);
    apply(
        &mut l,
        &Edit::Add {
            node: pending_folder(2, 1, "New", 1.0),
        },
    );
    assert_eq!(find(&l.children, "folder", "new").map(|n| n.id), Some(-2));
    apply(
        &mut l,
        &Edit::Rename {
            node_id: 6,
            name: "Trips".into(),
        },
    );
    assert!(find(&l.children, "folder", "TRIPS").unwrap().pending);
    assert!(find(&l.children, "file", "Trips").is_none(), "kinds differ");
    let moved = l.children[0].clone();
    apply(&mut l, &Edit::Remove { node_id: moved.id });
    let mut other = listing(
        r#"{"folder":{"id":6,"parent_id":1,"name":"Trips","kind":"folder"},"children":[]}"#,
    );
    apply(&mut other, &Edit::Add { node: moved });
    assert_eq!(other.children[0].parent_id, Some(6));
    assert_eq!(l.children.len(), 2);
}

#[test]
fn a_listing_keeps_the_fields_it_does_not_read() {
    let l = listing(HOME);
    let back = serde_json::to_value(&l).unwrap();
    assert_eq!(back["children"][0]["version_id"], 9);
    assert_eq!(back["etag"], "\"abc\"");
    assert!(back["children"][0].get("pending").is_none());
}
