//! The UI's handlers over HTTP against a real server and SQLite store:
//! logins, CSRF, roles, optimistic editing.

mod common;

use common::{TestServer, field, p};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use zsync_format::{CommitOp, CommitRequest};
use zsync_model::BodyHash;
use zsync_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sets_a_safe_cookie_and_logout_ends_the_session() {
    let server = TestServer::start().await;
    let client = server.client();
    let response = server.post_login(&client, "eddie", "pw-eddie").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("zsync_session="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/manage"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let sessions = server.store.web_sessions(Some("eddie"), 0).await.unwrap();
    assert_eq!(sessions.len(), 1);
    let token = cookie["zsync_session=".len()..].split(';').next().unwrap();
    assert_ne!(sessions[0].token_hash, token, "only the hash is stored");

    let page = client
        .get(server.url("/manage/browse/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = field(&page.text().await.unwrap(), "csrf").unwrap();
    let out = client
        .post(server.url("/manage/logout"))
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        server
            .store
            .web_sessions(Some("eddie"), 0)
            .await
            .unwrap()
            .is_empty()
    );
    // The old cookie is worthless now, even if a client kept it.
    let again = server
        .client()
        .get(server.url("/manage/browse/docs"))
        .header("cookie", format!("zsync_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(
        again.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/manage/login")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_refused_then_rate_limited() {
    let server = TestServer::start().await;
    let client = server.client();
    for _ in 0..3 {
        let response = server.post_login(&client, "eddie", "wrong").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            !response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .any(|c| c.to_str().unwrap().starts_with("zsync_session=")),
            "no session for a wrong password"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("Wrong user name or password."), "{page}");
    }
    // The limit (3 per user here) holds even for the right password.
    let response = server.post_login(&client, "eddie", "pw-eddie").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Too many failed logins")
    );
    assert!(server.store.web_sessions(None, 0).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_without_the_forms_nonce_is_refused() {
    let server = TestServer::start().await;
    let response = server
        .client()
        .post(server.url("/manage/login"))
        .form(&[("user", "eddie"), ("password", "pw-eddie"), ("nonce", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(server.store.web_sessions(None, 0).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_csrf_token_are_refused() {
    let server = TestServer::start().await;
    let (client, csrf) = server.login("eddie").await;
    let head = server.store.head().await.unwrap();
    for form in [
        vec![("name", "x")],
        vec![("name", "x"), ("csrf", "0000")],
        vec![("name", "x"), ("csrf", "")],
    ] {
        let response = client
            .post(server.url("/manage/mkdir/docs"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains("security token"), "{page}");
    }
    // An upload whose first field is not the token is refused unread.
    let multipart = reqwest::multipart::Form::new()
        .part(
            "files",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
        )
        .text("csrf", csrf.clone());
    let response = client
        .post(server.url("/manage/upload/docs"))
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.store.head().await.unwrap(), head, "nothing changed");
    assert!(server.store.object(&p("docs/x")).await.unwrap().is_none());

    // Another session's token does not do either.
    let (_, other_csrf) = server.login("bob").await;
    assert_ne!(other_csrf, csrf);
    let response = client
        .post(server.url("/manage/mkdir/docs"))
        .form(&[("name", "x"), ("csrf", &other_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // With its own token the same form works.
    let response = client
        .post(server.url("/manage/mkdir/docs"))
        .form(&[("name", "x"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(server.store.object(&p("docs/x")).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_sees_no_edit_buttons_and_is_refused_anyway() {
    let server = TestServer::start().await;
    let (client, csrf) = server.login("rita").await;
    let page = client
        .get(server.url("/manage/browse/docs/a.txt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("one\ntwo"), "the text is shown: {page}");
    assert!(!page.contains("Edit text"), "{page}");
    assert!(!page.contains("Save properties"), "{page}");
    let folder = client
        .get(server.url("/manage/browse/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!folder.contains("Upload files"), "{folder}");
    let rev = server
        .store
        .object(&p("docs/a.txt"))
        .await
        .unwrap()
        .unwrap()
        .rev;
    let response = client
        .post(server.url("/manage/edit/docs/a.txt"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("base_rev", &rev.to_string()),
            ("text", "hacked\n"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("rita may not edit /docs/a.txt"), "{page}");
    assert_eq!(server.text_of("docs/a.txt").await.unwrap(), "one\ntwo\n");
    let edit_form = client
        .get(server.url("/manage/edit/docs/a.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(edit_form.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_edit_is_refused_with_who_and_the_diff() {
    let server = TestServer::start().await;
    let (client, csrf) = server.login("eddie").await;
    let form = client
        .get(server.url("/manage/edit/docs/a.txt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let base_rev = field(&form, "base_rev").unwrap();

    // Bob commits through the API's store while eddie edits.
    let object = server
        .store
        .object(&p("docs/a.txt"))
        .await
        .unwrap()
        .unwrap();
    let theirs = b"one\nTWO by bob\n";
    let hash = BodyHash::of(theirs);
    server
        .store
        .put_body(hash, &theirs[..], 1 << 20)
        .await
        .unwrap();
    server
        .store
        .commit(
            "bob",
            &CommitRequest {
                message: "bob's change".into(),
                id: None,
                keep_locks: false,
                ops: vec![CommitOp::Modify {
                    path: p("docs/a.txt"),
                    oid: object.oid,
                    base_rev: object.rev,
                    props: None,
                    hash: Some(hash),
                }],
            },
        )
        .await
        .unwrap();

    let response = client
        .post(server.url("/manage/edit/docs/a.txt"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("base_rev", &base_rev),
            ("text", "one\r\ntwo by eddie\r\n"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("changed by bob since you opened it"),
        "{page}"
    );
    assert!(page.contains("TWO by bob"), "their change is shown: {page}");
    assert!(
        page.contains("two by eddie"),
        "the user's text is kept: {page}"
    );
    assert_eq!(
        server.text_of("docs/a.txt").await.unwrap(),
        "one\nTWO by bob\n",
        "not merged, not overwritten"
    );

    // Saving again from the refusal (now based on bob's revision) is a
    // deliberate replacement, and works; CRLF from the browser becomes LF.
    let new_base = field(&page, "base_rev").unwrap();
    assert_ne!(new_base, base_rev);
    let response = client
        .post(server.url("/manage/edit/docs/a.txt"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("base_rev", &new_base),
            ("text", "one\r\ntwo by eddie\r\n"),
            ("message", "eddie wins"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        server.text_of("docs/a.txt").await.unwrap(),
        "one\ntwo by eddie\n"
    );
    let log = server.store.log(&p("docs/a.txt"), Some(1)).await.unwrap();
    assert_eq!(
        (log[0].user.as_str(), log[0].message.as_str()),
        ("eddie", "eddie wins")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_content_is_refused_in_the_page() {
    let server = TestServer::start().await;
    let (client, csrf) = server.login("eddie").await;
    // A bad name and a name that exists: clear errors, nothing changes.
    let head = server.store.head().await.unwrap();
    for (name, expected) in [("a/b", "cannot be a name"), ("a.txt", "already exists")] {
        let response = client
            .post(server.url("/manage/newdoc/docs"))
            .form(&[("csrf", csrf.as_str()), ("name", name), ("text", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let page = response.text().await.unwrap();
        assert!(page.contains(expected), "{page}");
        assert!(page.contains("role=\"alert\""), "{page}");
    }
    assert_eq!(server.store.head().await.unwrap(), head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_lists_the_places_of_a_user_without_a_role_at_the_root() {
    let server = TestServer::start().await;
    let (client, _) = server.login("eddie").await;
    let response = client
        .get(server.url("/manage/browse/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("href=\"/manage/browse/docs\""), "{page}");
    // The root's history stays closed to them.
    let history = client
        .get(server.url("/manage/history/"))
        .send()
        .await
        .unwrap();
    assert_eq!(history.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_a_page_not_a_raw_error() {
    let server = TestServer::start().await;
    let (client, csrf) = server.login("eddie").await;
    for response in [
        client
            .get(server.url("/manage/diff/docs?from=x&to=1"))
            .send()
            .await
            .unwrap(),
        client
            .post(server.url("/manage/edit/docs/a.txt"))
            .form(&[("csrf", csrf.as_str()), ("base_rev", "not a number")])
            .send()
            .await
            .unwrap(),
        client
            .put(server.url("/manage/browse/docs"))
            .send()
            .await
            .unwrap(),
    ] {
        let status = response.status();
        assert!(status.is_client_error(), "{status}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.starts_with("text/html"), "{status} {kind}");
        let page = response.text().await.unwrap();
        assert!(page.contains("role=\"alert\""), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_show_on_the_object_page_and_managers_break_them() {
    let server = TestServer::start().await;
    server
        .store
        .lock(
            "bob",
            &[(p("docs/a.txt"), "hash-of-bobs-token".into())],
            "reworking",
            1_700_000_000,
            false,
        )
        .await
        .unwrap();

    // eddie (Editor) sees the lock but no button, may not break it, and
    // his edit is refused naming the lock's owner.
    let (eddie, eddie_csrf) = server.login("eddie").await;
    let page = eddie
        .get(server.url("/manage/browse/docs/a.txt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Locked by <strong>bob</strong> since") && page.contains(": reworking."),
        "{page}"
    );
    assert!(!page.contains("Break the lock"), "{page}");
    let refused = eddie
        .post(server.url("/manage/unlock/docs/a.txt"))
        .form(&[("csrf", eddie_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let form = eddie
        .get(server.url("/manage/edit/docs/a.txt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let base_rev = field(&form, "base_rev").unwrap();
    let response = eddie
        .post(server.url("/manage/edit/docs/a.txt"))
        .form(&[
            ("csrf", eddie_csrf.as_str()),
            ("base_rev", &base_rev),
            ("text", "eddie's\r\n"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::LOCKED);
    let page = response.text().await.unwrap();
    assert!(page.contains("locked by bob since"), "{page}");
    assert_eq!(server.text_of("docs/a.txt").await.unwrap(), "one\ntwo\n");

    // mia (Manager) gets the form; without the CSRF token nothing happens.
    let (mia, mia_csrf) = server.login("mia").await;
    let page = mia
        .get(server.url("/manage/browse/docs/a.txt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("action=\"/manage/unlock/docs/a.txt\"") && page.contains("Break the lock"),
        "{page}"
    );
    let forged = mia
        .post(server.url("/manage/unlock/docs/a.txt"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.store.locks(&p("docs")).await.unwrap().len(), 1);
    let done = mia
        .post(server.url("/manage/unlock/docs/a.txt"))
        .form(&[("csrf", mia_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers().get(LOCATION).unwrap(),
        "/manage/browse/docs/a.txt"
    );
    assert!(server.store.locks(&p("docs")).await.unwrap().is_empty());
    // Gone: a second break says so.
    let again = mia
        .post(server.url("/manage/unlock/docs/a.txt"))
        .form(&[("csrf", mia_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

/// Restoring a folder moves back only what moved by itself (a moved
/// folder takes its contents along) and names each edit by where the
/// object is now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_moves_a_folder_back_with_the_edits_inside_it() {
    let server = TestServer::start().await;
    let store = &server.store;
    let commit = |ops: Vec<CommitOp>| async move {
        let request = CommitRequest {
            message: "change".into(),
            id: None,
            keep_locks: false,
            ops,
        };
        store.commit("mia", &request).await.unwrap().rev
    };
    let put = |text: &'static [u8]| async move {
        let hash = BodyHash::of(text);
        store.put_body(hash, text, 1 << 20).await.unwrap();
        hash
    };
    let (bee, bee_edited) = (put(b"bee\n").await, put(b"bee, edited\n").await);
    let before = commit(vec![
        CommitOp::Add {
            path: p("docs/sub"),
            kind: zsync_model::Kind::folder(),
            props: Default::default(),
            hash: None,
        },
        CommitOp::Add {
            path: p("docs/sub/b.txt"),
            kind: zsync_model::Kind::document(),
            props: Default::default(),
            hash: Some(bee),
        },
    ])
    .await;
    let sub = store.object(&p("docs/sub")).await.unwrap().unwrap();
    let b = store.object(&p("docs/sub/b.txt")).await.unwrap().unwrap();
    let a = store.object(&p("docs/a.txt")).await.unwrap().unwrap();
    // The folder moves, a file inside it is edited, and another file
    // moves into it, all in one commit.
    commit(vec![
        CommitOp::Move {
            from: p("docs/sub"),
            to: p("docs/moved"),
            oid: sub.oid.clone(),
            base_rev: sub.rev,
            props: None,
            hash: None,
        },
        CommitOp::Modify {
            path: p("docs/sub/b.txt"),
            oid: b.oid.clone(),
            base_rev: b.rev,
            props: None,
            hash: Some(bee_edited),
        },
        CommitOp::Move {
            from: p("docs/a.txt"),
            to: p("docs/moved/a.txt"),
            oid: a.oid.clone(),
            base_rev: a.rev,
            props: None,
            hash: None,
        },
    ])
    .await;
    assert_eq!(
        server.text_of("docs/moved/b.txt").await.unwrap(),
        "bee, edited\n"
    );

    let (client, csrf) = server.login("eddie").await;
    let response = client
        .post(server.url("/manage/restore/docs"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("rev", &before.to_string()),
            ("message", "back"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    assert_eq!(server.text_of("docs/sub/b.txt").await.unwrap(), "bee\n");
    assert_eq!(server.text_of("docs/a.txt").await.unwrap(), "one\ntwo\n");
    assert!(store.object(&p("docs/moved")).await.unwrap().is_none());
    // The same objects, back in their places.
    let oid =
        |path: &'static str| async move { store.object(&p(path)).await.unwrap().unwrap().oid };
    assert_eq!(oid("docs/sub").await, sub.oid);
    assert_eq!(oid("docs/sub/b.txt").await, b.oid);
    assert_eq!(oid("docs/a.txt").await, a.oid);
    let report = store.check().await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}
