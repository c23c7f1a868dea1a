//! Devices: each sign-in is a device with its own token; listing, revoking and signing out.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::{DeviceList, MeResponse, SessionResponse};

use crate::fixture::{assert_error, Backend, TestServer, User};

crate::both!(
    devices_are_listed_and_a_revoked_token_fails_at_once,
    signing_out_revokes_only_the_calling_device,
    me_reports_usage_and_quota,
    a_device_is_renamed_and_its_new_name_signs_its_work,
);

async fn sign_in<'a>(server: &'a TestServer, username: &str, device: &str) -> User<'a> {
    let r = server
        .post(
            "/api/v1/sessions",
            json!({"username": username, "password": "correct horse", "device_name": device}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let session: SessionResponse = r.json().await.unwrap();
    User { server, session }
}

async fn devices_are_listed_and_a_revoked_token_fails_at_once(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let laptop = server.register("alice").await;
    let phone = sign_in(&server, "alice", "phone").await;
    let bob = server.register("bob").await;

    let list: DeviceList = laptop.ok(Method::GET, "/api/v1/devices", None).await;
    let names: Vec<(&str, bool)> = list
        .devices
        .iter()
        .map(|d| (d.name.as_str(), d.current))
        .collect();
    assert_eq!(names, [("laptop", true), ("phone", false)]);
    assert!(list.devices.iter().all(|d| d.last_seen_at >= d.created_at));

    // Bob cannot see or revoke Alice's devices.
    let bobs: DeviceList = bob.ok(Method::GET, "/api/v1/devices", None).await;
    assert_eq!(bobs.devices.len(), 1);
    let phone_id = phone.session.device_id;
    assert_error(
        bob.call(Method::DELETE, &format!("/api/v1/devices/{phone_id}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        phone.call(Method::GET, "/api/v1/me", None).await.status(),
        StatusCode::OK
    );

    // The laptop revokes the phone: the phone's very next request is refused.
    let r = laptop
        .call(Method::DELETE, &format!("/api/v1/devices/{phone_id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_error(
        phone.call(Method::GET, "/api/v1/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let list: DeviceList = laptop.ok(Method::GET, "/api/v1/devices", None).await;
    assert_eq!(list.devices.len(), 1);
    // Revoking twice, or a device id that is not a number, is a clear error.
    assert_error(
        laptop
            .call(Method::DELETE, &format!("/api/v1/devices/{phone_id}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        laptop.call(Method::DELETE, "/api/v1/devices/x", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
}

async fn signing_out_revokes_only_the_calling_device(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let laptop = server.register("alice").await;
    let phone = sign_in(&server, "alice", "phone").await;
    let r = phone.call(Method::DELETE, "/api/v1/sessions", None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_error(
        phone.call(Method::GET, "/api/v1/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_error(
        phone.call(Method::DELETE, "/api/v1/sessions", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let me: MeResponse = laptop.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.device_name, "laptop");
}

async fn me_reports_usage_and_quota(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.quota_bytes = 123_456)
        .start()
        .await;
    let alice = server.register("alice").await;
    alice.upload_file("a", b"12345", None).await;
    let me: MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!((me.used_bytes, me.quota_bytes), (5, 123_456));
}

/// Every browser of one kind signs in as "Chromium on Linux"; renaming tells them apart where
/// it matters: the devices list, version authors and conflicted-copy names.
async fn a_device_is_renamed_and_its_new_name_signs_its_work(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let laptop = server.register("alice").await;
    let phone = sign_in(&server, "alice", "phone").await;
    let bob = server.register("bob").await;
    let path = format!("/api/v1/devices/{}", phone.session.device_id);

    let renamed: wire::Device = laptop
        .ok(Method::PATCH, &path, Some(json!({"name": "  Work phone "})))
        .await;
    assert_eq!(
        (renamed.name.as_str(), renamed.current),
        ("Work phone", false)
    );
    let list: DeviceList = phone.ok(Method::GET, "/api/v1/devices", None).await;
    assert!(list
        .devices
        .iter()
        .any(|d| d.current && d.name == "Work phone"));
    let v = phone.upload_file("a.txt", b"hello", None).await;
    let versions: wire::VersionList = phone
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/versions", v.node.id),
            None,
        )
        .await;
    assert_eq!(versions.versions[0].device_name, "Work phone");

    // Bad names change nothing; another account's device is not found.
    for bad in ["", "   ", &"x".repeat(65), "tab\there"] {
        let r = laptop
            .call(Method::PATCH, &path, Some(json!({"name": bad})))
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let r = bob
        .call(Method::PATCH, &path, Some(json!({"name": "mine"})))
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let list: DeviceList = laptop.ok(Method::GET, "/api/v1/devices", None).await;
    assert!(list.devices.iter().any(|d| d.name == "Work phone"));
}
