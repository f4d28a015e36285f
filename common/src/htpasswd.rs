//! Apache htpasswd files for HTTP basic authentication, as Ironic reads them
//! (`[DEFAULT]http_basic_auth_user_file`): one `user:hash` a line, bcrypt hashes only.

use std::path::Path;

/// Hash prefixes of bcrypt, the only digest accepted (as in Ironic).
const BCRYPT_PREFIXES: [&str; 3] = ["$2y$", "$2a$", "$2b$"];

/// The entries of a user file, read whole.
#[derive(Debug)]
pub struct UserFile {
    entries: Vec<(String, String)>,
}

impl UserFile {
    /// Reads and checks `path`: every `user:hash` line must carry a bcrypt hash. Blank
    /// lines and lines without a colon are ignored, as Ironic does.
    pub fn read(path: &Path) -> Result<UserFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the user file {}: {e}", path.display()))?;
        UserFile::parse(&text)
    }

    pub fn parse(text: &str) -> Result<UserFile, String> {
        let mut entries = Vec::new();
        for line in text.lines().map(str::trim) {
            let Some((user, hash)) = line.split_once(':') else {
                continue;
            };
            if !BCRYPT_PREFIXES.iter().any(|p| hash.starts_with(p)) {
                return Err(format!(
                    "only bcrypt digested passwords are supported (user {user}); create entries with `htpasswd -B`"
                ));
            }
            entries.push((user.to_string(), hash.to_string()));
        }
        Ok(UserFile { entries })
    }

    /// Whether `password` is `user`'s. The first entry for the user decides.
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        self.entries
            .iter()
            .find(|(u, _)| u == user)
            .is_some_and(|(_, hash)| bcrypt::verify(password, hash).unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_entries_verify_and_others_are_refused() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let file = UserFile::parse(&format!("\nadmin:{hash}\nnot an entry\n")).unwrap();
        assert!(file.verify("admin", b"s3cret"));
        assert!(!file.verify("admin", b"wrong"));
        assert!(!file.verify("nobody", b"s3cret"));
        // htpasswd's default MD5 digest, as `htpasswd -m` writes it.
        let err = UserFile::parse("admin:$apr1$abc$def\n").unwrap_err();
        assert!(err.contains("only bcrypt"), "{err}");
        assert!(UserFile::parse("admin:plain\n").is_err());
    }
}
