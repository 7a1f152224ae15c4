//! zsync+ssh:// against zsyncd's SSH server, and OpenSSH on either side:
//! password, key, encrypted-key and agent logins, host-key checks, and
//! refusals. Everything runs on loopback with a temp HOME per client.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Run, Server, zsync_bin, zsyncd_bin};

/// A user's machine for SSH: HOME (with `.ssh`), a config dir, a work dir.
struct Home {
    home: tempfile::TempDir,
    client: common::Client,
}

impl Home {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".ssh")).unwrap();
        Self {
            home,
            client: common::Client::new(),
        }
    }

    fn ssh_dir(&self) -> PathBuf {
        self.home.path().join(".ssh")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(zsync_bin());
        cmd.args(args)
            .current_dir(self.client.dir.path())
            .env("HOME", self.home.path())
            .env("ZSYNC_CONFIG_DIR", self.client.config.path())
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("ZSYNC_SSH")
            .env_remove("USER");
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run zsync");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A key made with OpenSSH's ssh-keygen in `~/.ssh/NAME`.
    fn keygen(&self, name: &str, passphrase: &str) -> PathBuf {
        let path = self.ssh_dir().join(name);
        keygen(&path, passphrase);
        path
    }
}

fn keygen(path: &Path, passphrase: &str) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", "test", "-N", passphrase, "-f"])
        .arg(path)
        .status()
        .expect("run ssh-keygen (Debian openssh-client)");
    assert!(status.success());
}

fn port(server: &Server) -> u16 {
    server.ssh.as_ref().expect("started with --ssh").0
}

fn fingerprint(server: &Server) -> String {
    server.ssh.as_ref().expect("started with --ssh").1.clone()
}

fn url(server: &Server, userinfo: &str, path: &str) -> String {
    format!("zsync+ssh://{userinfo}@127.0.0.1:{}/{path}", port(server))
}

fn accept(server: &Server) -> String {
    format!("--accept-host-key={}", fingerprint(server))
}

fn key_add(server: &Server, user: &str, public: &Path) {
    let out = Command::new(zsyncd_bin())
        .args(["key", "add", user])
        .arg(public)
        .arg("--data")
        .arg(server.data.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pub_of(key: &Path) -> PathBuf {
    key.with_extension("pub")
}

#[test]
fn password_login_checkout_commit_update() {
    let server = Server::demo_ssh();
    let a = Home::new();
    let out = a
        .run(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync:zsync", "demo"),
            "w",
        ])
        .ok();
    assert!(
        out.stdout.contains("Checked out revision 1."),
        "{}",
        out.stdout
    );
    // The host key was remembered, and the password exchanged for a token:
    // later commands need neither.
    let known = std::fs::read_to_string(a.ssh_dir().join("fssync_known_hosts")).unwrap();
    assert!(known.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", port(&server))));
    a.client.write("w/demo/index.html", "changed over ssh\n");
    let out = a.run(&["commit", "-m", "over ssh", "w"]).ok();
    assert!(
        out.stdout.contains("Committed revision 2."),
        "{}",
        out.stdout
    );

    let b = Home::new();
    b.run(&[
        &accept(&server),
        "checkout",
        &url(&server, "zsync:zsync", "demo"),
        "w",
    ])
    .ok();
    assert_eq!(b.client.read("w/demo/index.html"), "changed over ssh\n");
    b.client.write("w/demo/index.html", "changed by b\n");
    b.run(&["commit", "-m", "b", "w"]).ok();
    let out = a.run(&["update", "w"]).ok();
    assert!(
        out.stdout.contains("Updated to revision 3."),
        "{}",
        out.stdout
    );
    assert_eq!(a.client.read("w/demo/index.html"), "changed by b\n");
    let log = a.run(&["log", "w"]).ok();
    assert!(log.stdout.contains("r3 | zsync"), "{}", log.stdout);

    // login/logout work on zsync+ssh:// URLs too: after logout the
    // stored token is gone, so without a terminal nothing gets in.
    let out = a.run(&["logout", &url(&server, "zsync", "")]).ok();
    assert!(out.stdout.starts_with("Logged out zsync"), "{}", out.stdout);
    a.run(&["update", "w"]).fails(1);
    let out = a.run(&["login", &url(&server, "zsync:zsync", "")]).ok();
    assert!(
        out.stdout.starts_with("Logged in to zsync+ssh://"),
        "{}",
        out.stdout
    );
    a.run(&["update", "w"]).ok();
}

/// A tree whose checkin uploads several batches of small bodies (a few
/// at once) and one body too big for a batch; its files and contents.
fn batch_tree(client: &common::Client, dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for i in 0..120 {
        let text = format!("file {i}\n").repeat(2000 + i);
        files.push((format!("{dir}/d{}/f{i}.txt", i % 6), text.into_bytes()));
    }
    let big: Vec<u8> = (0..(3 << 19) + 7).map(|i: u32| (i % 253) as u8).collect();
    files.push((format!("{dir}/big.bin"), big));
    for (rel, data) in &files {
        client.write_bytes(rel, data);
    }
    files
}

/// Every file of `files` under `dir` (instead of their own top folder)
/// holds its content.
fn assert_tree(client: &common::Client, files: &[(String, Vec<u8>)], from: &str, dir: &str) {
    for (rel, data) in files {
        let there = client.path(&rel.replacen(from, dir, 1));
        assert!(
            std::fs::read(&there).unwrap() == *data,
            "{}",
            there.display()
        );
    }
}

#[test]
fn checkin_uploads_batches_over_ssh() {
    let server = Server::demo_ssh();
    let a = Home::new();
    let files = batch_tree(&a.client, "many");
    let out = a
        .run(&[
            &accept(&server),
            "checkin",
            "-m",
            "many",
            &url(&server, "zsync:zsync", "demo/many"),
            "many",
        ])
        .ok();
    assert!(
        out.stdout.contains("Committed revision 2."),
        "{}",
        out.stdout
    );
    a.run(&["checkout", &url(&server, "zsync", "demo/many"), "back"])
        .ok();
    assert_tree(&a.client, &files, "many", "back/many");
}

#[test]
fn the_host_key_is_kept_private_and_reused() {
    let mut server = Server::demo_ssh();
    let first = fingerprint(&server);
    let file = server.data.path().join("ssh_host_ed25519_key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    drop(server);
    let again = Server::start_with(data, "serve", &["--ssh", "127.0.0.1:0"]);
    assert_eq!(fingerprint(&again), first);
}

#[test]
fn key_login_and_unregistered_keys() {
    let server = Server::demo_ssh();
    let a = Home::new();
    let key = a.keygen("id_ed25519", "");
    key_add(&server, "zsync", &pub_of(&key));
    let out = a
        .run(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync", "demo"),
            "w",
        ])
        .ok();
    assert!(
        out.stdout.contains("Checked out revision 1."),
        "{}",
        out.stdout
    );
    a.client.write("w/demo/new.txt", "by key\n");
    a.run(&["add", "w/demo/new.txt"]).ok();
    let out = a.run(&["commit", "-m", "key", "w"]).ok();
    assert!(
        out.stdout.contains("Committed revision 2."),
        "{}",
        out.stdout
    );
    let listed = Command::new(zsyncd_bin())
        .args(["key", "list", "zsync", "--data"])
        .arg(server.data.path())
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.starts_with("zsync\tSHA256:"), "{listed}");
    let fp = listed.split('\t').nth(1).unwrap().to_owned();
    // The same key cannot be given to a second user.
    server.add_user("bob", "bob-pw", "Reader");
    let twice = Command::new(zsyncd_bin())
        .args(["key", "add", "bob"])
        .arg(pub_of(&key))
        .arg("--data")
        .arg(server.data.path())
        .output()
        .unwrap();
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already exists"));
    // A removed key opens nothing any more.
    let removed = Command::new(zsyncd_bin())
        .args(["key", "remove", "zsync", &fp, "--data"])
        .arg(server.data.path())
        .output()
        .unwrap();
    assert!(removed.status.success());
    let out = a.run(&["update", "w"]).fails(1);
    assert!(
        out.stderr
            .contains("no SSH key of yours is registered for zsync"),
        "{}",
        out.stderr
    );

    // --identity names another key; one nobody registered is refused
    // clearly.
    let b = Home::new();
    let other = b.keygen("other", "");
    let out = b
        .run(&[
            &accept(&server),
            "--identity",
            other.to_str().unwrap(),
            "checkout",
            &url(&server, "zsync", "demo"),
            "w",
        ])
        .fails(1);
    assert!(
        out.stderr
            .contains("no SSH key of yours is registered for zsync"),
        "{}",
        out.stderr
    );
    // Registered for another user, it does not open zsync's account.
    server.add_user("ann", "ann-pw", "Reader");
    key_add(&server, "ann", &pub_of(&other));
    b.run(&[
        &accept(&server),
        "--identity",
        other.to_str().unwrap(),
        "checkout",
        &url(&server, "zsync", "demo"),
        "w",
    ])
    .fails(1);
    let out = b
        .run(&[
            "--identity",
            other.to_str().unwrap(),
            "checkout",
            &url(&server, "ann", "demo"),
            "w",
        ])
        .ok();
    assert!(
        out.stdout.contains("Checked out revision 2."),
        "{}",
        out.stdout
    );
    // A Reader may not commit.
    b.client.write("w/demo/index.html", "no\n");
    let out = b
        .run(&[
            "--identity",
            other.to_str().unwrap(),
            "commit",
            "-m",
            "x",
            "w",
        ])
        .fails(1);
    assert!(out.stderr.contains("ann may not"), "{}", out.stderr);
}

#[test]
fn encrypted_key_asks_for_its_passphrase() {
    let server = Server::demo_ssh();
    let a = Home::new();
    let key = a.keygen("id_ed25519", "open sesame");
    key_add(&server, "zsync", &pub_of(&key));

    // Without a terminal: a clear error.
    let out = a
        .run(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync", "demo"),
            "w",
        ])
        .fails(1);
    assert!(
        out.stderr.contains("the key is encrypted"),
        "{}",
        out.stderr
    );

    let mut cmd = a.command(&["checkout", &url(&server, "zsync", "demo"), "w"]);
    cmd.stdin(Stdio::inherit());
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("Enter passphrase for key").unwrap();
    p.send_line("open sesame").unwrap();
    let rest = p.exp_string("Checked out revision 1.").unwrap();
    assert!(!rest.contains("open sesame"), "the passphrase was echoed");
    p.exp_eof().unwrap();
    assert!(a.client.path("w/demo/index.html").exists());
}

#[test]
fn ssh_agent_logs_in() {
    let server = Server::demo_ssh();
    let a = Home::new();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("agent_key");
    keygen(&key, "");
    key_add(&server, "zsync", &pub_of(&key));
    let sock = keys.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .expect("run ssh-agent");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &sock)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(added.success());
    let out = a
        .command(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync", "demo"),
            "w",
        ])
        .env("SSH_AUTH_SOCK", &sock)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Checked out revision 1."),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn host_keys_unknown_yes_no_changed_and_accepted() {
    let server = Server::demo_ssh();
    let fp = fingerprint(&server);
    let ours_of = |h: &Home| h.ssh_dir().join("fssync_known_hosts");

    // No terminal: the message names the flag and the fingerprint.
    let a = Home::new();
    let out = a
        .run(&["checkout", &url(&server, "zsync:zsync", "demo"), "w"])
        .fails(1);
    assert!(
        out.stderr.contains(&format!("--accept-host-key={fp}")),
        "{}",
        out.stderr
    );
    // A wrong fingerprint is refused and nothing is written.
    let out = a
        .run(&[
            "--accept-host-key=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "checkout",
            &url(&server, "zsync:zsync", "demo"),
            "w",
        ])
        .fails(1);
    assert!(out.stderr.contains("refusing to connect"), "{}", out.stderr);
    assert!(!ours_of(&a).exists());

    // Asked: no → exit 1, nothing written.
    let mut p = rexpect::session::spawn_command(
        a.command(&["checkout", &url(&server, "zsync:zsync", "demo"), "w"]),
        Some(20_000),
    )
    .unwrap();
    p.exp_string(&fp).unwrap();
    p.exp_string("(yes/no)?").unwrap();
    p.send_line("no").unwrap();
    p.exp_string("host key verification failed").unwrap();
    let status = format!("{:?}", p.process().wait().unwrap());
    assert!(
        status.starts_with("Exited(") && status.ends_with(", 1)"),
        "{status}"
    );
    assert!(!ours_of(&a).exists());
    assert!(!a.client.path("w").exists());

    // Asked: yes → remembered; the second run asks nothing.
    let mut p = rexpect::session::spawn_command(
        a.command(&["checkout", &url(&server, "zsync:zsync", "demo"), "w"]),
        Some(20_000),
    )
    .unwrap();
    p.exp_string("(yes/no)?").unwrap();
    p.send_line("yes").unwrap();
    p.exp_string("Checked out revision 1.").unwrap();
    p.exp_eof().unwrap();
    assert!(ours_of(&a).exists());
    let out = a.run(&["update", "w"]).ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);

    // OpenSSH's own file, hashed by ssh-keygen -H, is understood too.
    let b = Home::new();
    let known = b.ssh_dir().join("known_hosts");
    std::fs::write(
        &known,
        format!(
            "[127.0.0.1]:{} {}\n",
            port(&server),
            std::fs::read_to_string(ours_of(&a))
                .unwrap()
                .split_once(' ')
                .unwrap()
                .1
                .trim()
        ),
    )
    .unwrap();
    let hashed = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&known)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(hashed.success());
    assert!(std::fs::read_to_string(&known).unwrap().starts_with("|1|"));
    b.run(&["checkout", &url(&server, "zsync:zsync", "demo"), "w"])
        .ok();

    // A changed key is refused, naming the file and line, even with
    // --accept-host-key.
    let c = Home::new();
    let other = c.keygen("other_host_key", "");
    let other_pub = std::fs::read_to_string(pub_of(&other)).unwrap();
    std::fs::write(
        c.ssh_dir().join("known_hosts"),
        format!("# mine\n[127.0.0.1]:{} {other_pub}", port(&server)),
    )
    .unwrap();
    let out = c
        .run(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync:zsync", "demo"),
            "w",
        ])
        .fails(1);
    assert!(out.stderr.contains("HAS CHANGED"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "line 2 of {}",
            c.ssh_dir().join("known_hosts").display()
        )),
        "{}",
        out.stderr
    );
    assert!(!c.ssh_dir().join("fssync_known_hosts").exists());
}

/// OpenSSH's client with options that ignore the machine's config.
fn openssh(port: u16, key: &Path) -> Command {
    let mut cmd = Command::new("ssh");
    cmd.args(["-F", "/dev/null", "-p", &port.to_string(), "-i"])
        .arg(key)
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "LogLevel=ERROR",
        ]);
    cmd
}

#[test]
fn openssh_client_and_refusals() {
    let server = Server::demo_ssh();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("k");
    keygen(&key, "");
    key_add(&server, "zsync", &pub_of(&key));
    let p = port(&server);

    // A raw HTTP request through OpenSSH's ssh.
    let mut child = openssh(p, &key)
        .args(["zsync@127.0.0.1", "zsync-serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET /api/v1/tree/demo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("\"root\":\"demo\""), "{text}");

    // Any other command, a shell, a forwarding: refused, with a reason.
    let out = openssh(p, &key)
        .args(["zsync@127.0.0.1", "cat /etc/passwd"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only runs `zsync-serve`"), "{err}");
    let out = openssh(p, &key)
        .args(["-T", "zsync@127.0.0.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no shell here"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = openssh(p, &key)
        .args(["-W", "127.0.0.1:22", "zsync@127.0.0.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    // OpenSSH at LogLevel ERROR says "stdio forwarding failed"; above it
    // adds our "administratively prohibited".
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("prohibited") || err.contains("forwarding failed"),
        "{err}"
    );
    // A key nobody registered.
    let stranger = keys.path().join("stranger");
    keygen(&stranger, "");
    let out = openssh(p, &stranger)
        .args(["zsync@127.0.0.1", "zsync-serve"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));

    // Wrong password, unknown user: refused by our client with a clear
    // message; the server keeps serving.
    let a = Home::new();
    let out = a
        .run(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync:wrong", "demo"),
            "w",
        ])
        .fails(1);
    assert!(
        out.stderr.contains("authentication failed for zsync"),
        "{}",
        out.stderr
    );
    let out = a
        .run(&["checkout", &url(&server, "nobody:x", "demo"), "w"])
        .fails(1);
    assert!(
        out.stderr.contains("authentication failed for nobody"),
        "{}",
        out.stderr
    );
    a.run(&["checkout", &url(&server, "zsync:zsync", "demo"), "w"])
        .ok();
}

#[test]
fn zsync_ssh_through_openssh_sshd_and_a_forced_command() {
    let sshd = Path::new("/usr/sbin/sshd");
    if !sshd.exists() {
        eprintln!("SKIPPED: /usr/sbin/sshd is not installed (Debian openssh-server)");
        return;
    }
    // Debian's sshd, started as root, insists on its privilege separation
    // directory, which only the (unused) system service would create.
    let _ = std::fs::create_dir_all("/run/sshd");
    let server = Server::demo_ssh();
    let dir = tempfile::tempdir().unwrap();
    let host_key = dir.path().join("host_key");
    keygen(&host_key, "");
    let a = Home::new();
    let key = a.keygen("id_ed25519", "");
    let authorized = dir.path().join("authorized_keys");
    std::fs::write(
        &authorized,
        format!(
            "command=\"{} serve --stdio --data {} --user zsync\",no-port-forwarding,no-pty {}",
            zsyncd_bin().display(),
            server.data.path().display(),
            std::fs::read_to_string(pub_of(&key)).unwrap()
        ),
    )
    .unwrap();
    // A free port: bind, read, release (sshd cannot report its own).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
             PidFile {}\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nLogLevel ERROR\n",
            host_key.display(),
            authorized.display(),
            dir.path().join("sshd.pid").display()
        ),
    )
    .unwrap();
    let mut daemon = Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .spawn()
        .expect("start sshd");
    for _ in 0..100 {
        // sshd writes its PidFile once it listens (a probe connection
        // would only make it log a failed handshake).
        if dir.path().join("sshd.pid").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let ssh_command = format!(
        "ssh -F /dev/null -p {port} -i {} -o BatchMode=yes -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=ERROR",
        key.display()
    );
    let out = a
        .command(&[
            "checkout",
            &format!("zsync+ssh://{user}@127.0.0.1:{port}/demo"),
            "w",
        ])
        .env("ZSYNC_SSH", &ssh_command)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !stdout.contains("Checked out revision 1.") {
        let _ = daemon.kill();
        let _ = daemon.wait();
        panic!("{stdout}\n{stderr}");
    }
    a.client.write("w/demo/index.html", "via sshd\n");
    let via_sshd = |args: &[&str]| {
        a.command(args)
            .env("ZSYNC_SSH", &ssh_command)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let committed = via_sshd(&["commit", "-m", "via sshd", "w"]);
    // Batches of small bodies, a few requests at once, each on its own
    // OpenSSH connection.
    let files = batch_tree(&a.client, "many");
    let many = format!("zsync+ssh://{user}@127.0.0.1:{port}/demo/many");
    let checked_in = via_sshd(&["checkin", "-m", "many", &many, "many"]);
    let back = via_sshd(&["checkout", &many, "back"]);
    let _ = daemon.kill();
    let _ = daemon.wait();
    for (out, said) in [
        (committed, "Committed revision 2."),
        (checked_in, "Committed revision 3."),
        (back, "Checked out revision 3."),
    ] {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(said),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_tree(&a.client, &files, "many", "back/many");
}

#[test]
fn rsa_keys_log_in() {
    let server = Server::demo_ssh();
    let a = Home::new();
    let key = a.ssh_dir().join("id_rsa");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    key_add(&server, "zsync", &pub_of(&key));
    let out = a
        .run(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync", "demo"),
            "w",
        ])
        .ok();
    assert!(
        out.stdout.contains("Checked out revision 1."),
        "{}",
        out.stdout
    );
    // The server takes RSA signatures with SHA-2 only: OpenSSH limited to
    // SHA-1 `ssh-rsa` is refused, with SHA-2 it gets in.
    let sha1 = openssh(port(&server), &key)
        .args([
            "-o",
            "PubkeyAcceptedAlgorithms=ssh-rsa",
            "zsync@127.0.0.1",
            "x",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(sha1.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&sha1.stderr).contains("Permission denied"));
    let sha2 = openssh(port(&server), &key)
        .args(["zsync@127.0.0.1", "x"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // In, then refused the command: exit 1 with our message.
    assert_eq!(sha2.status.code(), Some(1));
}

#[test]
fn failed_ssh_passwords_are_rate_limited() {
    let server = Server::demo_ssh();
    let a = Home::new();
    // The limit is 10 failures per user name in the window.
    for _ in 0..10 {
        a.run(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync:guess", "demo"),
            "w",
        ])
        .fails(1);
    }
    // Now even the right password is refused for a while.
    let out = a
        .run(&[
            &accept(&server),
            "checkout",
            &url(&server, "zsync:zsync", "demo"),
            "w",
        ])
        .fails(1);
    assert!(
        out.stderr.contains("authentication failed for zsync"),
        "{}",
        out.stderr
    );
    // Other users are not affected.
    server.add_user("ann", "ann-pw", "Reader");
    a.run(&[
        &accept(&server),
        "checkout",
        &url(&server, "ann:ann-pw", "demo"),
        "w",
    ])
    .ok();
}
