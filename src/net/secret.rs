//! The cluster secret on disk: read it, or create it once for every node
//! that shares a data root.
//!
//! A secret is any text of at least [`MIN_SECRET`](super::auth::MIN_SECRET)
//! bytes (whitespace around it is ignored, so `echo … > FILE` works), in a
//! file only its owner can read. `raftlab node --secret-file FILE` reads
//! one; without the flag a node uses `DIR/cluster.secret` under its
//! `--data-dir` root and creates it when absent: 32 random bytes as hex,
//! mode 0600. Nodes started together on one root must agree on it, so it
//! is written whole under a temporary name and hard-linked into place —
//! a link fails if the name exists, so exactly one node's secret wins and
//! the others read it, never a half-written file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::auth::{AuthError, ClusterKey, random_bytes};

/// The secret's file name under a data root.
pub const SECRET_FILE: &str = "cluster.secret";

/// Why the cluster secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be read.
    #[error("cannot read the cluster secret {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// Other users can read the file.
    #[error(
        "the cluster secret {path} can be read by other users (mode {mode:o}): run `chmod 600 {path}`"
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file holds no usable secret.
    #[error("the cluster secret {path} is not usable: {source}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: AuthError,
    },
    /// The file could not be created.
    #[error("cannot create the cluster secret {path}: {source}")]
    Create {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

/// `DIR/cluster.secret`.
pub fn default_path(data_root: &Path) -> PathBuf {
    data_root.join(SECRET_FILE)
}

/// Reads the secret at `path` as the key of cluster `cluster`.
pub fn load(path: &Path, cluster: u64) -> Result<ClusterKey, SecretError> {
    let read = |source| SecretError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let bytes = std::fs::read(path).map_err(read)?;
    ClusterKey::new(bytes.trim_ascii(), cluster).map_err(|source| SecretError::Bad {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the secret at `path`, creating it first if there is none.
/// Returns the key and whether this call created the file.
pub fn load_or_create(path: &Path, cluster: u64) -> Result<(ClusterKey, bool), SecretError> {
    if path.exists() {
        return load(path, cluster).map(|k| (k, false));
    }
    let create = |source| SecretError::Create {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(create)?;
    let random: [u8; 32] = random_bytes().map_err(|source| SecretError::Bad {
        path: path.to_path_buf(),
        source,
    })?;
    let mut text: String = random.iter().map(|b| format!("{b:02x}")).collect();
    text.push('\n');
    let tag: [u8; 8] = random_bytes().map_err(|source| SecretError::Bad {
        path: path.to_path_buf(),
        source,
    })?;
    let tmp = dir.join(format!(
        ".{SECRET_FILE}.{}.{}",
        std::process::id(),
        u64::from_le_bytes(tag)
    ));
    let written = write_private(&tmp, text.as_bytes());
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    let created = match linked {
        Ok(()) => true,
        // Another node made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(create(e)),
    };
    if created && let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    load(path, cluster).map(|k| (k, created))
}

/// Writes `bytes` to a new file at `path` that only its owner can read,
/// synced.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("raftlab-secret-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn nodes_starting_together_on_one_root_agree_on_one_secret() {
        let dir = root("race");
        let path = default_path(&dir);
        let keys: Vec<(ClusterKey, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(&path, 1).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(keys.iter().filter(|(_, created)| *created).count(), 1);
        let print = keys[0].0.fingerprint().to_string();
        assert!(keys.iter().all(|(k, _)| k.fingerprint() == print));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn exposed_short_and_missing_secrets_are_refused_with_the_file_named() {
        let dir = root("bad");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s");
        let e = load(&path, 1).unwrap_err().to_string();
        assert!(e.contains("cannot read") && e.contains("/s"), "{e}");
        write_private(&path, b"  short\n").unwrap();
        let e = load(&path, 1).unwrap_err().to_string();
        assert!(e.contains("at least 16 bytes"), "{e}");
        std::fs::remove_file(&path).unwrap();
        write_private(&path, b"a secret long enough to use\n").unwrap();
        let trimmed = load(&path, 1).unwrap();
        assert_eq!(
            trimmed.fingerprint(),
            ClusterKey::new(b"a secret long enough to use", 1)
                .unwrap()
                .fingerprint()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = load(&path, 1).unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
