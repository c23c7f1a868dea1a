//! Managing an account: changing the password (other devices stay signed in unless asked),
//! signing out everywhere else, and an operator who closes sign-up and adds accounts with
//! `cairn admin user add`.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::{DeviceList, RevokedDevices, SessionResponse};

use crate::fixture::{assert_error, Backend, TestServer, User};

crate::both!(
    a_password_change_needs_the_current_one_and_keeps_other_devices_unless_asked,
    signing_out_everywhere_else_keeps_only_the_calling_device,
    closed_sign_up_leaves_the_operator_to_add_accounts,
);

/// The fixture registers users with this password.
const PASSWORD: &str = "correct horse";

async fn sign_in<'a>(server: &'a TestServer, username: &str, password: &str) -> Option<User<'a>> {
    let r = server
        .post(
            "/api/v1/sessions",
            json!({"username": username, "password": password, "device_name": "another"}),
        )
        .await;
    if r.status() != StatusCode::OK {
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        return None;
    }
    let session: SessionResponse = r.json().await.unwrap();
    Some(User { server, session })
}

async fn works(u: &User<'_>) -> bool {
    u.call(Method::GET, "/api/v1/me", None).await.status() == StatusCode::OK
}

async fn a_password_change_needs_the_current_one_and_keeps_other_devices_unless_asked(
    backend: Backend,
) {
    let server = TestServer::on(backend).start().await;
    let laptop = server.register("alice").await;
    let phone = sign_in(&server, "alice", PASSWORD).await.unwrap();
    let path = "/api/v1/account/password";

    let wrong = json!({"current_password": "not it at all", "new_password": "a new secret"});
    let r = laptop.call(Method::POST, path, Some(wrong)).await;
    assert_error(r, StatusCode::FORBIDDEN, "wrong_current_password").await;
    let short = json!({"current_password": PASSWORD, "new_password": "short"});
    let r = laptop.call(Method::POST, path, Some(short)).await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(
        sign_in(&server, "alice", PASSWORD).await.is_some(),
        "unchanged"
    );

    let change = json!({"current_password": PASSWORD, "new_password": "a new secret"});
    let r = laptop.call(Method::POST, path, Some(change)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(sign_in(&server, "alice", PASSWORD).await.is_none());
    let tablet = sign_in(&server, "alice", "a new secret").await.unwrap();
    assert!(works(&laptop).await && works(&phone).await && works(&tablet).await);

    // After a leak: change it and sign every other device out.
    let change = json!({"current_password": "a new secret", "new_password": "newer still",
        "sign_out_other_devices": true});
    let r = tablet.call(Method::POST, path, Some(change)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(works(&tablet).await);
    assert!(!works(&laptop).await && !works(&phone).await);
}

async fn signing_out_everywhere_else_keeps_only_the_calling_device(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let laptop = server.register("alice").await;
    let phone = sign_in(&server, "alice", PASSWORD).await.unwrap();
    let tablet = sign_in(&server, "alice", PASSWORD).await.unwrap();
    let bob = server.register("bob").await;
    let out: RevokedDevices = phone.ok(Method::DELETE, "/api/v1/devices", None).await;
    assert_eq!(out.revoked, 2);
    assert!(works(&phone).await && works(&bob).await);
    assert!(!works(&laptop).await && !works(&tablet).await);
    let list: DeviceList = phone.ok(Method::GET, "/api/v1/devices", None).await;
    assert_eq!(list.devices.len(), 1);
    let out: RevokedDevices = phone.ok(Method::DELETE, "/api/v1/devices", None).await;
    assert_eq!(out.revoked, 0);
}

async fn closed_sign_up_leaves_the_operator_to_add_accounts(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.signup_open = false)
        .start()
        .await;
    let r = server
        .post(
            "/api/v1/accounts",
            json!({"username": "carol", "password": PASSWORD, "device_name": "laptop"}),
        )
        .await;
    assert_error(r, StatusCode::FORBIDDEN, "signup_closed").await;

    // The operator's way in: the real binary, on the server's own database.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["admin", "user", "add", "carol", "--database-url"])
        .arg(&server.database_url)
        .arg("--data-dir")
        .arg(server.dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    let password = said
        .trim()
        .rsplit(": ")
        .next()
        .expect("the password is printed once")
        .to_owned();
    assert_eq!(password.len(), 20, "{said}");
    let carol = sign_in(&server, "Carol", &password)
        .await
        .expect("signs in");
    assert!(works(&carol).await);

    // From standard input; a taken name (in any case) is refused with a clear message.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["admin", "user", "add", "CAROL", "--database-url"])
        .arg(&server.database_url)
        .arg("--data-dir")
        .arg(server.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"chosen by the operator\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));
    api::admin::add_user(&server.state.settings, "dave", "chosen by the operator")
        .await
        .unwrap();
    assert!(sign_in(&server, "dave", "chosen by the operator")
        .await
        .is_some());
}
