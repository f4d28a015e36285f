//! Apache htpasswd files for HTTP basic authentication, as Ironic reads them
//! (`[DEFAULT]http_basic_auth_user_file`): one `user:hash` a line, bcrypt hashes only.

use std::path::Path;

/// Hash prefixes of bcrypt, the only digest accepted (as in Ironic).
const BCRYPT_PREFIXES: [&str; 3] = ["$2y$", "$2a$", "$2b$"];

/// One user's line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A bcrypt hash to verify passwords against.
    Bcrypt(String),
    /// A line that cannot be used, and why. It refuses its own user only: Ironic, too,
    /// looks at the line of the user who asks and no other.
    Malformed(String),
}

/// The entries of a user file, read whole.
#[derive(Debug, Default)]
pub struct UserFile {
    entries: Vec<(String, Entry)>,
}

impl UserFile {
    /// Reads and checks `path` for start-up: every `user:hash` line must carry a
    /// bcrypt hash, so that a mistake is found before the service runs.
    pub fn read(path: &Path) -> Result<UserFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the user file {}: {e}", path.display()))?;
        let file = UserFile::parse(&text);
        let problem = file.problems().next();
        match problem {
            Some(problem) => Err(problem),
            None => Ok(file),
        }
    }

    /// Parses a file's text, keeping malformed lines as such. Blank lines and lines
    /// without a colon are ignored, as Ironic does.
    pub fn parse(text: &str) -> UserFile {
        let entries = text
            .lines()
            .map(str::trim)
            .filter_map(|line| line.split_once(':'))
            .map(|(user, hash)| (user.to_string(), entry(user, hash)))
            .collect();
        UserFile { entries }
    }

    /// What is wrong with each malformed line.
    pub fn problems(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().filter_map(|(_, e)| match e {
            Entry::Malformed(why) => Some(why.clone()),
            Entry::Bcrypt(_) => None,
        })
    }

    /// `user`'s entry: the first line for the user decides.
    pub fn entry(&self, user: &str) -> Option<&Entry> {
        self.entries.iter().find(|(u, _)| u == user).map(|(_, e)| e)
    }

    /// The bcrypt hashes of the file, in order.
    pub fn hashes(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|(_, e)| match e {
            Entry::Bcrypt(hash) => Some(hash.as_str()),
            Entry::Malformed(_) => None,
        })
    }

    /// Whether `password` is `user`'s.
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        match self.entry(user) {
            Some(Entry::Bcrypt(hash)) => bcrypt::verify(password, hash).unwrap_or(false),
            _ => false,
        }
    }
}

fn entry(user: &str, hash: &str) -> Entry {
    if BCRYPT_PREFIXES.iter().any(|p| hash.starts_with(p)) {
        Entry::Bcrypt(hash.to_string())
    } else {
        Entry::Malformed(format!(
            "only bcrypt digested passwords are supported (user {user}); create entries with `htpasswd -B`"
        ))
    }
}

/// The cost (log2 of the rounds) of a bcrypt hash, `$2b$10$...` → 10.
pub fn bcrypt_cost(hash: &str) -> Option<u32> {
    hash.get(4..6)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_entries_verify_and_others_are_refused() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let file = UserFile::parse(&format!("\nadmin:{hash}\nnot an entry\n"));
        assert_eq!(file.problems().count(), 0);
        assert!(file.verify("admin", b"s3cret"));
        assert!(!file.verify("admin", b"wrong"));
        assert!(!file.verify("nobody", b"s3cret"));
        assert_eq!(bcrypt_cost(&hash), Some(4));
        // htpasswd's default MD5 digest, as `htpasswd -m` writes it.
        let file = UserFile::parse("admin:$apr1$abc$def\n");
        assert!(file.problems().next().unwrap().contains("only bcrypt"));
        assert!(!file.verify("admin", b"abc"));
        assert_eq!(UserFile::parse("admin:plain\n").problems().count(), 1);
    }

    #[test]
    fn a_malformed_line_affects_only_its_user() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let file = UserFile::parse(&format!("broken:plain\nadmin:{hash}\n"));
        assert!(matches!(file.entry("broken"), Some(Entry::Malformed(_))));
        assert!(file.verify("admin", b"s3cret"));
        assert_eq!(file.hashes().collect::<Vec<_>>(), [hash.as_str()]);
    }
}
