//! Every `/manage` route for an anonymous caller, a Reader, an Editor and
//! a Manager, against a real server: who gets the page, who is sent to
//! the login form, who is refused. The table must list every route
//! [`zsync_web::web_routes`] reports.

mod common;

use common::{TestServer, p};
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use zsync_store::Store;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    /// 200.
    Page,
    /// 303 to the login form.
    Login,
    /// 303 somewhere else.
    Redirect,
    /// 403.
    Forbidden,
    /// Past the role check: neither 403 nor the login form nor a 5xx
    /// (the action may still fail for its own reasons, e.g. 404 after an
    /// earlier row deleted the object).
    Allowed,
}
use Want::*;

#[derive(Clone, Copy)]
enum Body {
    None,
    Form(&'static [(&'static str, &'static str)]),
    Upload,
}

struct Row {
    method: Method,
    route: &'static str,
    url: &'static str,
    body: Body,
    /// anonymous, reader, editor, manager
    want: [Want; 4],
}

fn row(method: Method, route: &'static str, url: &'static str, body: Body, want: [Want; 4]) -> Row {
    Row {
        method,
        route,
        url,
        body,
        want,
    }
}

const READ: [Want; 4] = [Login, Page, Page, Page];
const EDIT_PAGE: [Want; 4] = [Login, Forbidden, Page, Page];
const EDIT: [Want; 4] = [Login, Forbidden, Allowed, Allowed];
const ADMIN_PAGE: [Want; 4] = [Login, Forbidden, Forbidden, Page];
const ADMIN: [Want; 4] = [Login, Forbidden, Forbidden, Allowed];

/// `{rev}` in a form value is replaced by the current revision of
/// /docs/a.txt, `{head}` by the store's head.
fn table() -> Vec<Row> {
    use Body::Form;
    let get = Method::GET;
    let post = Method::POST;
    vec![
        row(get.clone(), "/", "/manage/", Body::None, [Redirect; 4]),
        row(
            get.clone(),
            "/static/{file}",
            "/manage/static/manage.css",
            Body::None,
            [Page; 4],
        ),
        row(
            get.clone(),
            "/login",
            "/manage/login",
            Body::None,
            [Page; 4],
        ),
        row(
            post.clone(),
            "/login",
            "/manage/login",
            Form(&[("user", "x"), ("password", "y")]),
            [Forbidden; 4],
        ),
        row(
            get.clone(),
            "/browse/{*path}",
            "/manage/browse/docs/a.txt",
            Body::None,
            READ,
        ),
        row(
            get.clone(),
            "/raw/{*path}",
            "/manage/raw/docs/a.txt",
            Body::None,
            READ,
        ),
        row(
            get.clone(),
            "/history/{*path}",
            "/manage/history/docs",
            Body::None,
            READ,
        ),
        row(
            get.clone(),
            "/diff/{*path}",
            "/manage/diff/docs?from=1&to=1",
            Body::None,
            READ,
        ),
        row(
            get.clone(),
            "/edit/{*path}",
            "/manage/edit/docs/a.txt",
            Body::None,
            EDIT_PAGE,
        ),
        row(
            get.clone(),
            "/delete/{*path}",
            "/manage/delete/docs/a.txt",
            Body::None,
            EDIT_PAGE,
        ),
        row(
            get.clone(),
            "/admin",
            "/manage/admin",
            Body::None,
            ADMIN_PAGE,
        ),
        row(
            post.clone(),
            "/unlock/{*path}",
            "/manage/unlock/docs/a.txt",
            Form(&[]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/restore/{*path}",
            "/manage/restore/docs/a.txt",
            Form(&[("rev", "1")]),
            EDIT,
        ),
        row(
            post.clone(),
            "/edit/{*path}",
            "/manage/edit/docs/a.txt",
            Form(&[("base_rev", "{rev}"), ("text", "new\n")]),
            EDIT,
        ),
        row(
            post.clone(),
            "/props/{*path}",
            "/manage/props/docs/a.txt",
            Form(&[("base_rev", "{rev}"), ("title", "T")]),
            EDIT,
        ),
        row(
            post.clone(),
            "/mkdir/{*path}",
            "/manage/mkdir/docs",
            Form(&[("name", "sub")]),
            EDIT,
        ),
        row(
            post.clone(),
            "/newdoc/{*path}",
            "/manage/newdoc/docs",
            Form(&[("name", "n.txt"), ("text", "n\n")]),
            EDIT,
        ),
        row(
            post.clone(),
            "/upload/{*path}",
            "/manage/upload/docs",
            Body::Upload,
            EDIT,
        ),
        row(
            post.clone(),
            "/copy/{*path}",
            "/manage/copy/docs/a.txt",
            Form(&[("to", "docs/c.txt")]),
            EDIT,
        ),
        row(
            post.clone(),
            "/move/{*path}",
            "/manage/move/docs/a.txt",
            Form(&[("base_rev", "{rev}"), ("to", "docs/b.txt")]),
            EDIT,
        ),
        row(
            post.clone(),
            "/delete/{*path}",
            "/manage/delete/docs/c.txt",
            Form(&[("head", "{head}")]),
            EDIT,
        ),
        row(
            post.clone(),
            "/admin/users",
            "/manage/admin/users",
            Form(&[("user", "newbie"), ("password", "pw")]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/admin/password",
            "/manage/admin/password",
            Form(&[("user", "bob"), ("password", "pw2")]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/admin/disable",
            "/manage/admin/disable",
            Form(&[("user", "bob"), ("disabled", "true")]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/admin/grants",
            "/manage/admin/grants",
            Form(&[("user", "bob"), ("path", "/docs"), ("role", "Reader")]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/admin/revoke",
            "/manage/admin/revoke",
            Form(&[("user", "bob"), ("path", "/docs")]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/admin/keys",
            "/manage/admin/keys",
            Form(&[
                ("user", "bob"),
                (
                    "key",
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bob",
                ),
            ]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/admin/keys/remove",
            "/manage/admin/keys/remove",
            Form(&[("user", "bob"), ("fingerprint", "SHA256:x")]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/admin/sessions/end",
            "/manage/admin/sessions/end",
            Form(&[("hash", "x")]),
            ADMIN,
        ),
        row(
            post.clone(),
            "/admin/tokens/revoke",
            "/manage/admin/tokens/revoke",
            Form(&[("hash", "x")]),
            ADMIN,
        ),
        // Last: it ends the session.
        row(
            post,
            "/logout",
            "/manage/logout",
            Form(&[]),
            [Login, Redirect, Redirect, Redirect],
        ),
    ]
}

#[test]
fn the_table_lists_every_route() {
    let mut listed: Vec<(Method, &str)> =
        table().into_iter().map(|r| (r.method, r.route)).collect();
    let mut routes = zsync_web::web_routes();
    listed.sort_by_key(|(m, r)| (m.to_string(), *r));
    routes.sort_by_key(|(m, r)| (m.to_string(), *r));
    assert_eq!(listed, routes);
}

fn outcome(status: StatusCode, location: Option<&str>) -> Want {
    match status {
        StatusCode::OK => Page,
        StatusCode::SEE_OTHER if location.is_some_and(|l| l.starts_with("/manage/login?")) => Login,
        StatusCode::SEE_OTHER => Redirect,
        StatusCode::FORBIDDEN => Forbidden,
        _ => Allowed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_role() {
    for (i, user) in [None, Some("rita"), Some("eddie"), Some("mia")]
        .into_iter()
        .enumerate()
    {
        // A fresh store per caller, so one's changes do not steer another's.
        let server = TestServer::start().await;
        let (client, csrf) = match user {
            Some(u) => server.login(u).await,
            None => (server.client(), String::new()),
        };
        let anonymous_head = server.store.head().await.unwrap();
        for r in table() {
            let rev = match server.store.object(&p("docs/a.txt")).await.unwrap() {
                Some(o) => o.rev.to_string(),
                None => "1".into(),
            };
            let head = server.store.head().await.unwrap().to_string();
            let mut request = client.request(r.method.clone(), server.url(r.url));
            match r.body {
                Body::None => {}
                Body::Form(fields) => {
                    let mut form: Vec<(&str, String)> = vec![("csrf", csrf.clone())];
                    form.extend(
                        fields
                            .iter()
                            .map(|(k, v)| (*k, v.replace("{rev}", &rev).replace("{head}", &head))),
                    );
                    request = request.form(&form);
                }
                Body::Upload => {
                    let form = reqwest::multipart::Form::new()
                        .text("csrf", csrf.clone())
                        .part(
                            "files",
                            reqwest::multipart::Part::bytes(b"up\n".to_vec()).file_name("up.txt"),
                        );
                    request = request.multipart(form);
                }
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let location = response
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            assert!(
                !status.is_server_error(),
                "{} {} as {user:?}: {status} {body}",
                r.method,
                r.url
            );
            let got = outcome(status, location.as_deref());
            let want = r.want[i];
            let ok = got == want || (want == Allowed && matches!(got, Allowed | Redirect | Page));
            assert!(
                ok,
                "{} {} as {user:?}: wanted {want:?}, got {got:?} ({status}, {location:?}): {body}",
                r.method, r.url
            );
        }
        if matches!(user, None | Some("rita")) {
            assert_eq!(
                server.store.head().await.unwrap(),
                anonymous_head,
                "{user:?} changed nothing"
            );
            assert_eq!(server.store.list_users().await.unwrap().len(), 4);
        }
    }
}
