use std::path::Path;

use super::*;

fn write(root: &Path, name: &str, text: &str) {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const MAIN: &str = r#"{"name": "main", "steps": [
    {"action": "browser.open", "url": "file://{{ workflow.dir }}/site/index.html"},
    {"action": "call", "workflow": "sub/child.json"}
]}"#;
const CHILD: &str = r#"{"name": "child", "steps": [{"action": "log", "message": "hi"}]}"#;

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "workflow.json", MAIN);
    write(dir.path(), "sub/child.json", CHILD);
    write(dir.path(), "site/index.html", "<p>hi</p>");
    dir
}

fn names(package: &Package) -> Vec<&str> {
    package.files.iter().map(|f| f.path.as_str()).collect()
}

#[test]
fn the_same_files_make_the_same_bytes() {
    let a = folder();
    let first = build(a.path(), &Limits::default()).unwrap();
    // Another folder, written later, in another order: the same package.
    let b = tempfile::tempdir().unwrap();
    write(b.path(), "site/index.html", "<p>hi</p>");
    write(b.path(), "sub/child.json", CHILD);
    write(b.path(), "workflow.json", MAIN);
    let second = build(&b.path().join("workflow.json"), &Limits::default()).unwrap();
    assert_eq!(first.sha256, second.sha256);
    assert_eq!(first.bytes, second.bytes);
    assert_eq!(first.sha256, sha256(&first.bytes));
    assert_eq!(first.entry, "workflow.json");
    assert_eq!(
        names(&first),
        ["site/index.html", "sub/child.json", "workflow.json"]
    );
    assert_eq!(first.workflow.workflow.name, "main");
    // One byte changed: another package.
    write(b.path(), "site/index.html", "<p>hi!</p>");
    let third = build(b.path(), &Limits::default()).unwrap();
    assert_ne!(first.sha256, third.sha256);
}

#[test]
fn alqignore_runs_and_version_control_are_left_out() {
    let dir = folder();
    write(dir.path(), ".alqignore", "*.log\nscratch/\n");
    write(dir.path(), "debug.log", "x");
    write(dir.path(), "scratch/notes.txt", "x");
    write(dir.path(), "runs/20260101T000000Z-main/events.ndjson", "x");
    write(dir.path(), ".git/config", "x");
    write(dir.path(), "site/runs/kept.html", "x");
    let package = build(dir.path(), &Limits::default()).unwrap();
    assert_eq!(
        names(&package),
        [
            ".alqignore",
            "site/index.html",
            "site/runs/kept.html",
            "sub/child.json",
            "workflow.json"
        ]
    );
}

#[test]
fn a_called_workflow_left_out_is_refused() {
    let dir = folder();
    write(dir.path(), ".alqignore", "sub/\n");
    let error = build(dir.path(), &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("steps[1].workflow"), "{error}");
    assert!(error.contains("`sub/child.json` is left out"), "{error}");
}

#[test]
fn references_outside_the_folder_are_refused_with_their_place() {
    let outer = tempfile::tempdir().unwrap();
    write(outer.path(), "shared.json", CHILD);
    write(outer.path(), "secret.txt", "x");
    let root = outer.path().join("flow");
    write(
        &root,
        "workflow.json",
        r#"{"name": "escape", "steps": [
            {"action": "call", "workflow": "../shared.json"},
            {"action": "browser.open", "url": "file://{{ workflow.dir }}/../secret.txt"},
            {"action": "file.read", "path": "data/../../secret.txt"},
            {"action": "log", "message": "../not/a/path is fine in a message"}
        ]}"#,
    );
    let error = build(&root, &Limits::default()).unwrap_err();
    let PackageError::References(problems) = &error else {
        panic!("{error}");
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].contains(
            "workflow.json steps[0].workflow: `call` of `../shared.json` reaches outside"
        ),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("steps[1].url: `{{ workflow.dir }}/../secret.txt` reaches outside"),
        "{problems:?}"
    );
    assert!(
        problems[2].contains("steps[2].path: `data/../../secret.txt` reaches outside"),
        "{problems:?}"
    );
}

#[cfg(unix)]
#[test]
fn links_inside_are_files_and_links_outside_are_refused() {
    let outer = tempfile::tempdir().unwrap();
    write(outer.path(), "elsewhere.txt", "x");
    let dir = folder();
    std::os::unix::fs::symlink(
        dir.path().join("site/index.html"),
        dir.path().join("copy.html"),
    )
    .unwrap();
    let package = build(dir.path(), &Limits::default()).unwrap();
    assert!(names(&package).contains(&"copy.html"));
    std::os::unix::fs::symlink(
        outer.path().join("elsewhere.txt"),
        dir.path().join("out.txt"),
    )
    .unwrap();
    let error = build(dir.path(), &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`out.txt` is a symbolic link to")
            && error.contains("outside the package folder"),
        "{error}"
    );
}

#[test]
fn limits_are_enforced_when_building() {
    let dir = folder();
    let few = Limits {
        max_files: 2,
        ..Limits::default()
    };
    assert!(matches!(
        build(dir.path(), &few),
        Err(PackageError::TooManyFiles { limit: 2 })
    ));
    let small = Limits {
        max_packed_bytes: 100,
        ..Limits::default()
    };
    let error = build(dir.path(), &small).unwrap_err().to_string();
    assert!(error.contains("over the limit of 100 bytes"), "{error}");
}

#[test]
fn a_missing_workflow_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let error = build(dir.path(), &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("workflow.json"), "{error}");
}

#[test]
fn unpacking_gives_back_the_files() {
    let dir = folder();
    let package = build(dir.path(), &Limits::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let unpacked = unpack(&package.bytes, out.path(), &Limits::default()).unwrap();
    assert_eq!(unpacked.files, names(&package));
    assert_eq!(
        std::fs::read_to_string(out.path().join("sub/child.json")).unwrap(),
        CHILD
    );
    assert!(verify(&package.bytes, &package.sha256).is_ok());
    let mut tampered = package.bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(
        verify(&tampered, &package.sha256),
        Err(PackageError::HashMismatch { .. })
    ));
}

/// A `tar.gz` with one entry whose name and type are written raw (the `tar` crate
/// refuses to make such names itself).
fn raw_archive(name: &str, kind: tar::EntryType, data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(kind);
    if kind == tar::EntryType::Symlink {
        header.set_link_name("/etc/passwd").unwrap();
    }
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn unsafe_entries_are_refused() {
    for (name, kind) in [
        ("../escape.txt", tar::EntryType::Regular),
        ("/etc/escape.txt", tar::EntryType::Regular),
        ("a/../../escape.txt", tar::EntryType::Regular),
        ("link", tar::EntryType::Symlink),
        ("hard", tar::EntryType::Link),
    ] {
        let outer = tempfile::tempdir().unwrap();
        let dest = outer.path().join("job");
        let bytes = raw_archive(name, kind, b"x");
        let error = unpack(&bytes, &dest, &Limits::default()).unwrap_err();
        assert!(matches!(error, PackageError::Corrupt(_)), "{name}: {error}");
        assert!(!outer.path().join("escape.txt").exists());
        assert!(!dest.join("link").exists());
    }
    let error = unpack(
        b"not gzip at all",
        tempfile::tempdir().unwrap().path(),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(error, PackageError::Corrupt(_)), "{error}");
}

#[test]
fn an_archive_made_by_tar_in_the_folder_unpacks() {
    // `tar -czf x.tar.gz -C folder .` writes `./` and `./a/b` names.
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, data) in [
        ("./", tar::EntryType::Directory, &b""[..]),
        ("./site/", tar::EntryType::Directory, b""),
        ("./site/index.html", tar::EntryType::Regular, b"<p>hi</p>"),
    ] {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(kind);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &builder.into_inner().unwrap()).unwrap();
    let bytes = gz.finish().unwrap();
    let out = tempfile::tempdir().unwrap();
    let unpacked = unpack(&bytes, out.path(), &Limits::default()).unwrap();
    assert_eq!(unpacked.files, ["site/index.html"]);
    assert!(out.path().join("site/index.html").is_file());
}

#[test]
fn an_archive_that_expands_too_far_is_stopped() {
    // A megabyte of zeros packs into about a kilobyte.
    let bytes = raw_archive("zeros.bin", tar::EntryType::Regular, &vec![0; 1024 * 1024]);
    assert!(bytes.len() < 4096);
    let limits = Limits {
        max_unpacked_bytes: 64 * 1024,
        ..Limits::default()
    };
    let error = unpack(&bytes, tempfile::tempdir().unwrap().path(), &limits)
        .unwrap_err()
        .to_string();
    assert!(error.contains("the unpacked size"), "{error}");
}

#[test]
fn safe_relative_paths() {
    assert!(is_safe_relative("workflow.json"));
    assert!(is_safe_relative("sub/a.json"));
    for bad in ["", "/a", "../a", "a/../b", "a//b", "C:\\a", "a\\b", "./a"] {
        assert!(!is_safe_relative(bad), "{bad}");
    }
}

#[test]
fn secret_files_are_left_out_unless_alqignore_takes_them_back() {
    let dir = folder();
    for name in [
        ".env",
        ".env.production",
        "sub/.env",
        "certs/server.pem",
        "api.key",
        "id_rsa",
        "id_rsa.pub",
        "keys/id_ed25519",
        "id_ecdsa",
        ".env.example",
    ] {
        write(dir.path(), name, "secret");
    }
    let package = build(dir.path(), &Limits::default()).unwrap();
    assert_eq!(
        names(&package),
        ["site/index.html", "sub/child.json", "workflow.json"]
    );
    write(dir.path(), ".alqignore", "!.env.example\n");
    let package = build(dir.path(), &Limits::default()).unwrap();
    assert_eq!(
        names(&package),
        [
            ".alqignore",
            ".env.example",
            "site/index.html",
            "sub/child.json",
            "workflow.json"
        ]
    );
}

/// A package folder (canonical) holding `workflow.json` with `text`.
fn package_dir(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("pkg");
    write(&root, "workflow.json", text);
    let root = std::fs::canonicalize(root).unwrap();
    (outer, root)
}

#[test]
fn a_call_outside_the_package_is_refused_before_it_is_read() {
    for target in ["../outside.json", "/dev/zero"] {
        let (outer, root) = package_dir(&format!(
            r#"{{"name": "esc", "steps": [{{"action": "call", "workflow": "{target}"}}]}}"#
        ));
        // Not a workflow: read, it would fail as invalid, naming the server's path.
        write(outer.path(), "outside.json", "not json");
        let error = check_dir(
            &root,
            "workflow.json",
            &["workflow.json".to_owned()],
            &Limits::default(),
        )
        .unwrap_err();
        let PackageError::References(problems) = error else {
            panic!("{target}: {error}");
        };
        assert!(
            problems[0].contains("reaches outside") || problems[0].contains("inside it"),
            "{problems:?}"
        );
    }
}

#[test]
fn load_in_refuses_a_call_outside_the_root_without_reading_it() {
    let (outer, root) = package_dir(
        r#"{"name": "esc", "steps": [{"action": "call", "workflow": "../outside.json"}]}"#,
    );
    write(
        outer.path(),
        "outside.json",
        r#"{"name": "out", "steps": [{"action": "log", "message": "x"}]}"#,
    );
    let entry = root.join("workflow.json");
    crate::workflow::load(&entry).expect("outside a package, the call is fine");
    let error = crate::workflow::load_in(&entry, &root).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("reaches outside the package folder"),
        "{error}"
    );
    // A symbolic link inside the package to a file outside it is refused too.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outer.path().join("outside.json"), root.join("link.json"))
            .unwrap();
        write(
            &root,
            "workflow.json",
            r#"{"name": "esc", "steps": [{"action": "call", "workflow": "link.json"}]}"#,
        );
        assert!(crate::workflow::load_in(&entry, &root).is_err());
    }
}

#[test]
fn a_workflow_file_over_the_limit_is_refused_unread() {
    let dir = folder();
    write(
        dir.path(),
        "sub/child.json",
        &format!("{CHILD}{}", " ".repeat(2000)),
    );
    let limits = Limits {
        max_workflow_bytes: 1000,
        ..Limits::default()
    };
    let error = build(dir.path(), &limits).unwrap_err();
    assert!(
        matches!(&error, PackageError::WorkflowTooLarge { file, limit: 1000, .. } if file == "sub/child.json"),
        "{error}"
    );
}
