//! The [`Context`] a command runs in: the caller's directory, config and
//! [`Ui`]; how targets on the command line map to working copies; and how a
//! connection to the server is authenticated.

use std::path::{Path, PathBuf};

use zsync_model::RepoPath;
use zsync_types::Registry;

use crate::credentials::{Login, TokenStore};
use crate::error::{ClientError, Result};
use crate::ssh::{SshOptions, SshTransport};
use crate::transport::{Auth, HttpTransport, TlsOptions, Transport};
use crate::ui::Ui;
use crate::url::{Scheme, ServerUrl};
use crate::wc::{self, WorkingCopy};

pub struct Context<'a> {
    pub ui: &'a dyn Ui,
    /// Paths are resolved against, and shown relative to, this directory.
    pub cwd: PathBuf,
    /// Where logins are kept (`~/.config/zsync`).
    pub config_dir: PathBuf,
    pub registry: Registry,
    /// How HTTPS servers are verified.
    pub tls: TlsOptions,
    /// Key file and host-key choices for `zsync+ssh://`.
    pub ssh: SshOptions,
    /// The client's config file (default users, diff tool, ignores).
    pub config: crate::config::Config,
}

/// The command-line targets that fall in one working copy.
pub struct Target {
    pub root: PathBuf,
    /// Working-copy paths; the root path `""` for the whole copy.
    pub paths: Vec<RepoPath>,
}

impl<'a> Context<'a> {
    pub fn new(ui: &'a dyn Ui, cwd: PathBuf, config_dir: PathBuf) -> Self {
        Self {
            ui,
            cwd,
            config_dir,
            registry: Registry::builtin(),
            tls: TlsOptions::default(),
            ssh: SshOptions::default(),
            config: crate::config::Config::default(),
        }
    }

    /// How a path is shown to the user: relative to the current directory.
    pub fn display(&self, abs: &Path) -> String {
        wc::relative_to(abs, &self.cwd).display().to_string()
    }

    pub fn display_rel(&self, wc: &WorkingCopy, rel: &RepoPath) -> String {
        self.display(&wc.abs(rel))
    }

    /// Groups command-line paths by working copy. A directory that is not in
    /// a working copy but holds checkouts (the TARGETDIR of `checkout`)
    /// stands for each of them.
    pub fn targets(&self, args: &[PathBuf]) -> Result<Vec<Target>> {
        let defaults = [PathBuf::from(".")];
        let args = if args.is_empty() { &defaults[..] } else { args };
        let mut out: Vec<Target> = Vec::new();
        let mut push = |root: PathBuf, path: RepoPath| match out.iter_mut().find(|t| t.root == root)
        {
            Some(t) => t.paths.push(path),
            None => out.push(Target {
                root,
                paths: vec![path],
            }),
        };
        for arg in args {
            let abs = wc::absolute(&self.cwd, arg);
            if let Some(root) = wc::find_root(&abs) {
                let rel = relative_repo_path(&root, &abs)?;
                push(root, rel);
                continue;
            }
            let children = checkouts_in(&abs);
            if children.is_empty() {
                return Err(ClientError::NotAWorkingCopy(abs));
            }
            for root in children {
                push(root, RepoPath::root());
            }
        }
        for t in &mut out {
            t.paths.sort();
            t.paths.dedup();
            // A path inside another target is already covered.
            let all = t.paths.clone();
            t.paths
                .retain(|p| !all.iter().any(|q| q != p && q.contains(p)));
        }
        Ok(out)
    }

    /// A transport to the server of `url`, authenticated by (in order) the
    /// password in the URL, a stored login, or a password prompt. A
    /// password is exchanged for a token at once, which is stored so later
    /// commands need no password. Over `zsync+ssh://` the SSH login is
    /// the authentication (see [`SshTransport::connect`]). `Send`, so
    /// `watch` can follow the change feed on a thread of its own.
    pub fn connect(&self, url: &ServerUrl) -> Result<Box<dyn Transport + Send>> {
        // A URL naming no user takes the config file's for its server.
        let with_user;
        let url = match (&url.user, self.config.user_for(url)) {
            (None, Some(user)) => {
                with_user = ServerUrl {
                    user: Some(user),
                    ..url.clone()
                };
                &with_user
            }
            _ => url,
        };
        if url.scheme == Scheme::Ssh {
            let tokens = TokenStore::new(&self.config_dir);
            return Ok(Box::new(SshTransport::connect(
                url, self.ui, &self.ssh, &tokens,
            )?));
        }
        Ok(Box::new(self.connect_http(url)?))
    }

    fn connect_http(&self, url: &ServerUrl) -> Result<HttpTransport> {
        let tokens = TokenStore::new(&self.config_dir);
        if let (Some(user), Some(password)) = (&url.user, &url.password) {
            return self.login_with_password(url, user, password, &tokens);
        }
        if let Some(login) = tokens.find(&url.server(), url.user.as_deref())? {
            return HttpTransport::with_tls(
                url,
                Auth::Bearer {
                    user: login.user,
                    token: login.token,
                },
                &self.tls,
            );
        }
        let user = match &url.user {
            Some(u) => Some(u.clone()),
            None => self
                .ui
                .line(&format!("Username for {}: ", url.server()))
                .filter(|u| !u.is_empty()),
        };
        if let Some(user) = user {
            let prompt = format!("Password for {user} at {}: ", url.server());
            if let Some(password) = self.ui.password(&prompt) {
                return self.login_with_password(url, &user, &password, &tokens);
            }
            return Err(ClientError::AuthRequired {
                url: url.redacted(),
                hint: format!(
                    "no password for {user} and no terminal to ask on; put it in the URL (http://{user}:PASSWORD@…) or run `zsync login` first"
                ),
            });
        }
        HttpTransport::with_tls(url, Auth::None, &self.tls)
    }

    fn login_with_password(
        &self,
        url: &ServerUrl,
        user: &str,
        password: &str,
        tokens: &TokenStore,
    ) -> Result<HttpTransport> {
        let mut transport = HttpTransport::with_tls(
            url,
            Auth::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            },
            &self.tls,
        )?;
        let login = transport.login()?;
        tokens.save(Login {
            server: url.server(),
            user: login.user.clone(),
            token: login.token.clone(),
            expires: login.expires,
        })?;
        transport.set_auth(Auth::Bearer {
            user: login.user,
            token: login.token,
        });
        Ok(transport)
    }

    /// `zsync login`: stores a token for the server of `url`.
    pub fn login(&self, url: &ServerUrl) -> Result<String> {
        let tokens = TokenStore::new(&self.config_dir);
        let user = self
            .config
            .user_for(url)
            .or_else(|| self.ui.line(&format!("Username for {}: ", url.server())))
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ClientError::AuthRequired {
                url: url.redacted(),
                hint: "name the user in the URL (http://USER@HOST/) or with -u USER".into(),
            })?;
        let password = match &url.password {
            Some(p) => p.clone(),
            None => self
                .ui
                .password(&format!("Password for {user} at {}: ", url.server()))
                .ok_or_else(|| ClientError::AuthRequired {
                    url: url.redacted(),
                    hint: "no terminal to ask for the password on".into(),
                })?,
        };
        if url.scheme == Scheme::Ssh {
            // The SSH login with the password stores the token itself.
            let mut with_password = url.clone();
            with_password.user = Some(user.clone());
            with_password.password = Some(password);
            SshTransport::connect(&with_password, self.ui, &self.ssh, &tokens)?;
            return Ok(user);
        }
        self.login_with_password(url, &user, &password, &tokens)?;
        Ok(user)
    }

    /// `zsync logout`: revokes the stored token on the server and forgets it.
    pub fn logout(&self, url: &ServerUrl) -> Result<String> {
        let tokens = TokenStore::new(&self.config_dir);
        let login = tokens
            .find(&url.server(), self.config.user_for(url).as_deref())?
            .ok_or_else(|| {
                ClientError::refused(url.redacted(), "no stored login for this server")
            })?;
        if url.scheme == Scheme::Ssh {
            // Over SSH the token is the SSH password; forgetting it here
            // is all the client can do (it expires on the server).
            tokens.remove(&url.server(), &login.user)?;
            return Ok(login.user);
        }
        let transport = HttpTransport::with_tls(
            url,
            Auth::Bearer {
                user: login.user.clone(),
                token: login.token.clone(),
            },
            &self.tls,
        )?;
        // A token the server no longer knows is as good as revoked.
        match transport.logout() {
            Ok(()) | Err(ClientError::AuthRequired { .. }) => {}
            Err(e) => return Err(e),
        }
        tokens.remove(&url.server(), &login.user)?;
        Ok(login.user)
    }
}

fn relative_repo_path(root: &Path, abs: &Path) -> Result<RepoPath> {
    let rest = abs.strip_prefix(root).unwrap_or(Path::new(""));
    let text = rest
        .to_str()
        .ok_or_else(|| ClientError::refused(abs.display(), "the path is not valid UTF-8"))?;
    RepoPath::parse(text).map_err(|e| ClientError::refused(abs.display(), e.to_string()))
}

/// Working copies directly inside `dir`, sorted.
fn checkouts_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut roots: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| WorkingCopy::is_root(p))
        .collect();
    roots.sort();
    roots
}
