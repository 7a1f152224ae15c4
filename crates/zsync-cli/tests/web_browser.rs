//! The web UI in a real browser: Debian's Chromium driven through
//! chromedriver (WebDriver, with fantoccini) against the real `zsyncd`,
//! and the real `zsync` checking out what the browser made.
//!
//! One chromedriver per test process, so the scenarios run in one test,
//! each in a fresh browser session. A failing scenario leaves a
//! screenshot in `CARGO_TARGET_TMPDIR/web-browser/`.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client as Wc, Server};
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

/// chromedriver on a free loopback port; killed (by its PID) on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) must be installed; .ci/run installs it");
        let driver = Driver { child, port };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < WAIT,
                "chromedriver did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    async fn browser(&self, profile: &std::path::Path) -> Browser {
        // Debian's /usr/bin/chromium is a wrapper script; the binary is here.
        let binary = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
            .into_iter()
            .find(|b| std::path::Path::new(b).exists())
            .expect("chromium must be installed");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1100,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("start a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits until an element matching `css` contains `needle`.
async fn wait_text(b: &Browser, css: &str, needle: &str) -> String {
    let start = Instant::now();
    loop {
        if let Ok(found) = b.find_all(Locator::Css(css)).await {
            for e in found {
                if let Ok(text) = e.text().await
                    && text.contains(needle)
                {
                    return text;
                }
            }
        }
        if start.elapsed() > WAIT {
            let url = b
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!("no {css} containing {needle:?} on {url}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(b: &Browser, xpath: &str) {
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("no {xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn fill(b: &Browser, id: &str, text: &str) {
    let e = b
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no #{id}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn log_in(b: &Browser, base: &str, user: &str, password: &str) {
    b.goto(&format!("{base}/manage")).await.unwrap();
    fill(b, "user", user).await;
    fill(b, "password", password).await;
    click(b, "//button[text()='Log in']").await;
}

/// Runs one scenario in its own browser session; on failure, saves a
/// screenshot and fails the test with the scenario's panic.
async fn scenario<F, Fut>(driver: &Driver, name: &str, steps: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(profile.path()).await;
    let started = Instant::now();
    let result = tokio::spawn(steps(browser.clone())).await;
    if let Err(e) = result {
        let shot = shots_dir().join(format!("{name}-failure.png"));
        if let Ok(png) = browser.screenshot().await {
            let _ = std::fs::write(&shot, png);
            eprintln!("{name}: screenshot in {}", shot.display());
        }
        let _ = browser.close().await;
        std::panic::resume_unwind(e.into_panic());
    }
    browser.close().await.unwrap();
    eprintln!("{name}: {:.1}s", started.elapsed().as_secs_f64());
}

/// The content editor's round trip, then `zsync` on what the browser made.
async fn editor_round_trip(b: Browser, server: Arc<Server>) {
    let base = server.base.clone();
    log_in(&b, &base, "zsync", "zsync").await;
    wait_text(&b, "h1", "Home").await;

    // A folder.
    click(&b, "//summary[.//h2[text()='New folder']]").await;
    fill(&b, "folder-name", "site").await;
    click(&b, "//button[text()='Create folder']").await;
    wait_text(&b, ".notice", "Saved as revision").await;
    wait_text(&b, "h1", "/site").await;

    // Two files at once, through the script's upload with progress.
    let files = tempfile::tempdir().unwrap();
    let hello = files.path().join("hello.txt");
    let notes = files.path().join("notes.md");
    std::fs::write(&hello, "Hello\n").unwrap();
    std::fs::write(&notes, "# Notes\n\nfirst\n").unwrap();
    let input = b.find(Locator::Id("files")).await.unwrap();
    input
        .send_keys(&format!("{}\n{}", hello.display(), notes.display()))
        .await
        .unwrap();
    click(&b, "//button[text()='Upload']").await;
    wait_text(&b, ".notice", "Saved as revision").await;
    wait_text(&b, "table.listing", "hello.txt").await;
    wait_text(&b, "table.listing", "notes.md").await;

    // Edit a document.
    click(&b, "//a[text()='hello.txt']").await;
    click(&b, "//a[text()='Edit text']").await;
    fill(&b, "text", "Hello, world\n").await;
    fill(&b, "message", "greet the world").await;
    click(&b, "//button[text()='Save']").await;
    wait_text(&b, ".notice", "Saved as revision").await;
    wait_text(&b, "pre.body", "Hello, world").await;

    // History and diff, both views.
    click(&b, "//p[@class='actions']/a[text()='History']").await;
    wait_text(&b, "table.history", "greet the world").await;
    click(&b, "//button[text()='Compare']").await;
    wait_text(&b, "table.diff td.add", "Hello, world").await;
    wait_text(&b, "table.diff td.del", "Hello").await;
    click(&b, "//a[text()='Side by side view']").await;
    wait_text(&b, "table.diff.side td.add", "Hello, world").await;

    // Restore the upload's state (the second row), confirming the dialog.
    click(&b, "//a[text()='History']").await;
    wait_text(&b, "table.history", "greet the world").await;
    click(&b, "(//button[text()='Restore'])[2]").await;
    b.accept_alert().await.unwrap();
    wait_text(&b, ".notice", "Saved as revision").await;
    let text = wait_text(&b, "pre.body", "Hello").await;
    assert_eq!(text.trim(), "Hello");

    // A checkout (into co/site) holds exactly what the browser made.
    let wc = Wc::new();
    wc.run(&["checkout", &server.url("site"), "co"]).ok();
    let mut names: Vec<String> = std::fs::read_dir(wc.path("co/site"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != ".zsync")
        .collect();
    names.sort();
    assert_eq!(names, ["hello.txt", "notes.md"]);
    assert_eq!(wc.read("co/site/hello.txt"), "Hello\n");
    assert_eq!(wc.read("co/site/notes.md"), "# Notes\n\nfirst\n");

    // And a command-line commit shows in the UI's history.
    wc.write("co/site/notes.md", "# Notes\n\nsecond\n");
    wc.run_in("co", &["commit", "-m", "from the command line"])
        .ok();
    b.goto(&format!("{base}/manage/history/site"))
        .await
        .unwrap();
    wait_text(&b, "table.history", "from the command line").await;
    b.goto(&format!("{base}/manage/browse/site/notes.md"))
        .await
        .unwrap();
    wait_text(&b, "pre.body", "second").await;
}

/// Submits a form the page does not offer, as a forger would.
const FORGE: &str = "
    const [action, fields] = arguments;
    const f = document.createElement('form');
    f.method = 'post';
    f.action = action;
    for (const [k, v] of fields) {
        const i = document.createElement('input');
        i.type = 'hidden'; i.name = k; i.value = v;
        f.appendChild(i);
    }
    document.body.appendChild(f);
    f.submit();";

async fn refusals(b: Browser, server: Arc<Server>) {
    let base = server.base.clone();
    // A wrong password: the form again, with the error, and no session.
    log_in(&b, &base, "zsync", "not-the-password").await;
    wait_text(&b, "#error", "Wrong user name or password").await;
    assert!(b.find(Locator::Id("password")).await.is_ok());

    // A Reader sees no edit controls...
    log_in(&b, &base, "rita", "rita-pw").await;
    wait_text(&b, "h1", "Home").await;
    b.goto(&format!("{base}/manage/browse/demo/notes.txt"))
        .await
        .unwrap();
    wait_text(&b, "pre.body", "").await;
    assert!(
        b.find_all(Locator::LinkText("Edit text"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        b.find_all(Locator::Id("prop-title"))
            .await
            .unwrap()
            .is_empty()
    );
    // ...and a forged edit with her valid token is refused anyway.
    let csrf = b
        .find(Locator::Css("input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    b.execute(
        FORGE,
        vec![
            json!("/manage/edit/demo/notes.txt"),
            json!([["csrf", csrf], ["base_rev", "1"], ["text", "hacked"]]),
        ],
    )
    .await
    .unwrap();
    wait_text(&b, "#error", "rita may not edit /demo/notes.txt").await;

    // A POST without the CSRF token is refused, even from a Manager.
    b.goto(&format!("{base}/manage/browse/")).await.unwrap();
    click(&b, "//button[contains(., 'Log out')]").await;
    wait_text(&b, "h1", "Log in").await;
    log_in(&b, &base, "zsync", "zsync").await;
    wait_text(&b, "h1", "Home").await;
    b.execute(
        FORGE,
        vec![json!("/manage/mkdir/demo"), json!([["name", "forged"]])],
    )
    .await
    .unwrap();
    wait_text(&b, "#error", "security token").await;
    b.goto(&format!("{base}/manage/browse/demo")).await.unwrap();
    let listing = wait_text(&b, "table.listing", "notes.txt").await;
    assert!(!listing.contains("forged"));
    b.goto(&format!("{base}/manage/browse/demo/notes.txt"))
        .await
        .unwrap();
    let text = wait_text(&b, "pre.body", "").await;
    assert!(!text.contains("hacked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_in_chromium() {
    let server = Arc::new(Server::demo());
    server.add_user("rita", "rita-pw", "Reader");
    let driver = Driver::start();
    let s = Arc::clone(&server);
    scenario(&driver, "editor_round_trip", move |b| {
        editor_round_trip(b, s)
    })
    .await;
    let s = Arc::clone(&server);
    scenario(&driver, "refusals", move |b| refusals(b, s)).await;
}
