//! Where a workflow's files may be. Every action that reads or writes a file asks
//! [`PathPolicy::check`] first: the path is made absolute, its `..` and symbolic links
//! are resolved (for a file that does not exist yet, its folder's), and it is refused
//! when it lies inside one of alq's own folders (the robot's identity, spool, other jobs'
//! folders, the CLI's login, the server's data), unless it is inside the run's own
//! folder; and, when allowed roots are given, when it lies outside all of them.

use std::io;
use std::path::{Component, Path, PathBuf};

/// How an action uses a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads the file (a final symbolic link is followed).
    Read,
    /// Writes the file, creating it (a final symbolic link is followed).
    Write,
    /// Deletes or renames the entry itself (a final symbolic link is not followed: the
    /// link is what goes).
    Entry,
}

impl Access {
    fn verb(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Entry => "change",
        }
    }
}

/// A folder with the name people know it by.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Folder {
    path: PathBuf,
    name: String,
}

/// The folders a workflow's file actions may and may not reach.
#[derive(Debug, Clone, Default)]
pub struct PathPolicy {
    /// alq's own folders: nothing inside them can be reached...
    protected: Vec<Folder>,
    /// ...except inside these: the running job's (or run's) own folder.
    own: Vec<PathBuf>,
    /// When not empty, the only roots paths may be in (besides `own` and `implicit`).
    allowed: Vec<PathBuf>,
    /// Always allowed besides `allowed`: the workflow's own folder.
    implicit: Vec<PathBuf>,
}

/// How many symbolic links a path may pass through, as the OS limits it.
const MAX_LINKS: usize = 40;

impl PathPolicy {
    /// Nothing protected and nothing restricted (tests of other things).
    pub fn unrestricted() -> PathPolicy {
        PathPolicy::default()
    }

    /// alq's own folders on this machine, protected: the CLI's config folder (its login),
    /// the robot's folder and data folder, the server's data folder and config file, as
    /// the environment (`ALQ_CONFIG_DIR`, `ALQ_ROBOT_DIR`, `ALQ_ROBOT_DATA_DIR`,
    /// `ALQ_DATA_DIR`, `ALQ_CONFIG`) or the OS names them, and the OS folders of alq.
    pub fn alq_folders() -> PathPolicy {
        let mut policy = PathPolicy::default();
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Ok(dir) = alq_shared::client::login::config_dir() {
            policy.protect(&dir, "alq's config folder (the CLI's login)");
        }
        if let Ok(dir) = crate::agent::robot_dir() {
            policy.protect(&dir, "the robot's folder (its identity and spool)");
        }
        if let Ok(dir) = crate::agent::robot_data_dir() {
            policy.protect(&dir, "the robot's data folder (job folders, package cache)");
        }
        if let Some(dir) = env("ALQ_DATA_DIR") {
            policy.protect(Path::new(&dir), "the server's data folder");
        }
        if let Some(file) = env("ALQ_CONFIG") {
            policy.protect(Path::new(&file), "the server's config file");
        }
        // Every OS folder of alq, whoever wrote it: the server's database and key, the
        // robot's, the CLI's (the robot and the CLI name their folders differently on
        // macOS and Windows).
        for dirs in [
            directories::ProjectDirs::from("dev", "alq", "alq"),
            directories::ProjectDirs::from("", "", "alq"),
        ]
        .into_iter()
        .flatten()
        {
            policy.protect(dirs.config_dir(), "alq's config folder");
            policy.protect(dirs.data_dir(), "alq's data folder");
            policy.protect(dirs.data_local_dir(), "alq's data folder");
            policy.protect(dirs.cache_dir(), "alq's cache folder");
        }
        policy
    }

    /// Protects `dir` (a folder or a file), named `name` in messages.
    pub fn protect(&mut self, dir: &Path, name: &str) -> &mut Self {
        let path = real_path(dir, true).unwrap_or_else(|_| dir.to_path_buf());
        if !self.protected.iter().any(|f| f.path == path) {
            self.protected.push(Folder {
                path,
                name: name.to_owned(),
            });
        }
        self
    }

    /// Lets the run use `dir` even inside a protected folder: the job's own folder.
    pub fn own(&mut self, dir: &Path) -> &mut Self {
        let path = real_path(dir, true).unwrap_or_else(|_| dir.to_path_buf());
        if !self.own.contains(&path) {
            self.own.push(path);
        }
        self
    }

    /// Restricts paths to `dir` and the other allowed roots (and the run's own folders).
    pub fn allow(&mut self, dir: &Path) -> &mut Self {
        let path = real_path(dir, true).unwrap_or_else(|_| dir.to_path_buf());
        if !self.allowed.contains(&path) {
            self.allowed.push(path);
        }
        self
    }

    /// Allows `dir` whenever roots are restricted: the workflow's own folder.
    pub fn allow_implicitly(&mut self, dir: &Path) -> &mut Self {
        let path = real_path(dir, true).unwrap_or_else(|_| dir.to_path_buf());
        if !self.implicit.contains(&path) {
            self.implicit.push(path);
        }
        self
    }

    /// The allowed roots, as given (resolved).
    pub fn allowed_roots(&self) -> &[PathBuf] {
        &self.allowed
    }

    /// The path to use for `path` (already absolute or relative to the current folder),
    /// with its `..` and links resolved, or why it may not be used. `shown` is how the
    /// workflow wrote it.
    pub fn check(&self, shown: &str, path: &Path, access: Access) -> Result<PathBuf, String> {
        let real = real_path(path, access != Access::Entry).map_err(|e| {
            format!(
                "cannot resolve the path `{shown}` ({}): {e}",
                path.display()
            )
        })?;
        let is = if real.as_os_str() == shown {
            String::new()
        } else {
            format!(" (that is {})", real.display())
        };
        if self.own.iter().any(|own| inside(&real, own)) {
            return Ok(real);
        }
        if let Some(folder) = self.protected.iter().find(|f| inside(&real, &f.path)) {
            return Err(format!(
                "may not {} `{shown}`{is}: it is inside {}, {}. Workflows cannot reach alq's \
                 own folders (its tokens, spool and other jobs' files) except the job's or run's own \
                 folder; keep the files a workflow needs in its folder or elsewhere",
                access.verb(),
                folder.name,
                folder.path.display()
            ));
        }
        if !self.allowed.is_empty()
            && !self
                .allowed
                .iter()
                .chain(&self.implicit)
                .any(|root| inside(&real, root))
        {
            let roots: Vec<String> = self
                .allowed
                .iter()
                .map(|r| r.display().to_string())
                .collect();
            return Err(format!(
                "may not {} `{shown}`{is}: it is outside the folders this run may use ({}, and \
                 the workflow's and run's own folders); allow its folder with --allow-path \
                 (or `allow_paths` in the robot's config.toml), or move the file",
                access.verb(),
                roots.join(", ")
            ));
        }
        Ok(real)
    }
}

/// Whether `path` is `root` or inside it, component by component (case-blind where the
/// file system usually is).
fn inside(path: &Path, root: &Path) -> bool {
    if cfg!(any(windows, target_os = "macos")) {
        let lower = |p: &Path| PathBuf::from(p.to_string_lossy().to_lowercase());
        lower(path).starts_with(lower(root))
    } else {
        path.starts_with(root)
    }
}

/// `path` made absolute with every `..` and symbolic link resolved, as the OS would when
/// opening it; for a path that does not exist (yet), its existing folder is resolved and
/// the rest joined. With `follow` false a final symbolic link is kept as it is.
pub fn real_path(path: &Path, follow: bool) -> io::Result<PathBuf> {
    real(&std::path::absolute(path)?, follow, 0)
}

fn real(path: &Path, follow: bool, links: usize) -> io::Result<PathBuf> {
    if links > MAX_LINKS {
        return Err(io::Error::other("too many levels of symbolic links"));
    }
    if follow && let Ok(canonical) = std::fs::canonicalize(path) {
        return Ok(canonical);
    }
    let (Some(parent), Some(last)) = (path.parent(), path.components().next_back()) else {
        // The root (or a prefix): it exists, or nothing can be resolved further.
        return Ok(path.to_path_buf());
    };
    match last {
        Component::Normal(name) => {
            let folder = real(parent, true, links)?;
            let joined = folder.join(name);
            if follow
                && let Ok(meta) = std::fs::symlink_metadata(&joined)
                && meta.file_type().is_symlink()
            {
                // A link to something missing: what a write would create is its target.
                let target = std::fs::read_link(&joined)?;
                return real(&folder.join(target), true, links + 1);
            }
            Ok(joined)
        }
        Component::ParentDir => {
            let folder = real(parent, true, links)?;
            Ok(folder.parent().map_or(folder.clone(), Path::to_path_buf))
        }
        Component::CurDir => real(parent, follow, links),
        Component::RootDir | Component::Prefix(_) => Ok(path.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(alq: &Path, own: &Path) -> PathPolicy {
        let mut policy = PathPolicy::default();
        policy.protect(alq, "the robot's folder").own(own);
        policy
    }

    #[test]
    fn dot_dot_and_missing_files_resolve_to_where_the_os_would_go() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        assert_eq!(
            real_path(&base.join("a/b/../../c.txt"), true).unwrap(),
            base.join("c.txt")
        );
        assert_eq!(
            real_path(&base.join("a/new/../../x/./y.txt"), true).unwrap(),
            base.join("x/y.txt")
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_even_dangling_ones_except_for_the_entry_itself() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let alq = base.join("alq");
        let own = alq.join("jobs/1-1");
        let work = base.join("work");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(alq.join("robot.json"), "{}").unwrap();
        std::os::unix::fs::symlink(alq.join("robot.json"), work.join("id.json")).unwrap();
        std::os::unix::fs::symlink(alq.join("new.json"), work.join("dangling")).unwrap();
        std::os::unix::fs::symlink(&alq, work.join("alq")).unwrap();
        let policy = policy(&alq, &own);
        for (path, access) in [
            ("work/id.json", Access::Read),
            ("work/dangling", Access::Write),
            ("work/alq/robot.json", Access::Read),
            ("work/alq/jobs/2-1/x.txt", Access::Write),
            ("alq/jobs/1-1/../../robot.json", Access::Read),
        ] {
            let error = policy.check(path, &base.join(path), access).unwrap_err();
            assert!(
                error.contains("inside the robot's folder"),
                "{path}: {error}"
            );
            assert!(error.contains(&format!("`{path}`")), "{error}");
        }
        // Deleting the link itself does not touch what it points to.
        assert_eq!(
            policy
                .check("id", &work.join("id.json"), Access::Entry)
                .unwrap(),
            work.join("id.json")
        );
        assert_eq!(
            policy
                .check("own", &own.join("run/out.txt"), Access::Write)
                .unwrap(),
            own.join("run/out.txt")
        );
    }

    #[test]
    fn allowed_roots_restrict_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let mut policy = PathPolicy::default();
        policy
            .allow(&base.join("in"))
            .allow_implicitly(&base.join("wf"))
            .own(&base.join("run"));
        for ok in ["in/a.csv", "in/deep/b.csv", "wf/data.csv", "run/out.txt"] {
            assert!(
                policy.check(ok, &base.join(ok), Access::Read).is_ok(),
                "{ok}"
            );
        }
        for refused in ["other/a.csv", "in/../other.csv", "inside.csv"] {
            let error = policy
                .check(refused, &base.join(refused), Access::Read)
                .unwrap_err();
            assert!(error.contains("outside the folders"), "{error}");
            assert!(error.contains("--allow-path"), "{error}");
        }
    }
}
