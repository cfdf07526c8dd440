//! The data folder and the SQLite files are private to the server's user (0700 and
//! 0600, like the server key), made so on first start and narrowed on a later start
//! when an older version or an operator left them wider.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use alq_control_plane::data_dir::sqlite_files;

use crate::common::{Backend, TestServer};
use crate::on_both_backends;

on_both_backends!(the_data_folder_is_private);

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

async fn the_data_folder_is_private(backend: Backend) {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let server = TestServer::start_with_config(backend, |c| c.data_dir = Some(dir.clone())).await;
    let Some(server) = server else {
        return;
    };
    // Something that writes, so SQLite has its -wal and -shm.
    server
        .admin()
        .post(
            "/tokens",
            serde_json::json!({"name": "t", "role": "viewer"}),
        )
        .await
        .expect(201);
    let files: Vec<_> = if backend == Backend::Sqlite {
        sqlite_files(&dir.join("alq.db")).into()
    } else {
        Vec::new()
    };
    let check = |when: &str| {
        assert_eq!(mode(&dir), 0o700, "{when}: the data folder");
        assert_eq!(mode(&dir.join("server.key")), 0o600, "{when}: the key");
        for file in &files {
            assert!(file.exists(), "{when}: {} is missing", file.display());
            assert_eq!(mode(file), 0o600, "{when}: {}", file.display());
        }
    };
    check("first start");
    // As an older version left them; then another start on the same folder.
    set_mode(&dir, 0o755);
    for file in &files {
        set_mode(file, 0o644);
    }
    let replica = server.replica(|_| {}).await;
    check("a later start");
    replica.stop().await;
    server.stop().await;
}
