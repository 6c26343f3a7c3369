//! The deployment files agree with each other and with Coffer: the image's default config
//! loads; nginx's fixed address in docker-compose.prod.yml is the trusted proxy of
//! deploy/coffer.toml; nginx's upstream is the `web` service on the port Coffer binds; the
//! compose file takes every secret from the env file and the example names each of them.

use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text after `key` on its line, up to the end of the line, trimmed.
fn value_after(text: &str, key: &str) -> String {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("`{key}` not found"))
        + key.len();
    text[start..].lines().next().unwrap().trim().to_string()
}

#[test]
fn the_compose_config_loads_with_the_env_file_s_variables() {
    let settings = coffer::config::Settings::load_with(
        Some(Path::new(&format!(
            "{}/deploy/coffer.toml",
            env!("CARGO_MANIFEST_DIR")
        ))),
        &|name| match name {
            "AWS_ACCESS_KEY_ID" => Some("coffer".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("a-secret".into()),
            _ => None,
        },
    )
    .unwrap();
    let coffer::config::StorageLocation::S3(s3) = &settings.storage.primary.location else {
        panic!("the compose install keeps its archives in MinIO");
    };
    assert_eq!(s3.endpoint.as_deref(), Some("http://minio:9000"));
    assert_eq!(s3.bucket, "coffer");
    assert!(s3.path_style);
    let compose = read("docker-compose.prod.yml");
    assert!(compose.contains("AWS_SECRET_ACCESS_KEY"));
}

#[test]
fn the_image_default_config_loads() {
    let settings = coffer::config::Settings::load_with(
        Some(Path::new(&format!(
            "{}/deploy/container-defaults.toml",
            env!("CARGO_MANIFEST_DIR")
        ))),
        &|_| None,
    )
    .unwrap();
    assert_eq!(settings.data_dir, Path::new("/var/lib/coffer"));
    assert_eq!(settings.keys_dir, Path::new("/var/lib/coffer/keys"));
    assert_eq!(settings.web.bind.to_string(), "0.0.0.0:8080");
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("install -d -o coffer -g coffer -m 0700 /var/lib/coffer/keys"));
    assert!(dockerfile.contains("EXPOSE 8080"));
}

#[test]
fn compose_nginx_and_coffer_config_agree() {
    let compose = read("docker-compose.prod.yml");
    let config = read("deploy/coffer.toml");
    let site = read("nginx/coffer.conf");

    let nginx_address = value_after(&compose, "ipv4_address:");
    assert_eq!(
        value_after(&config, "trusted_proxies ="),
        format!("[\"{nginx_address}\"]"),
        "nginx's address in the compose file is Coffer's trusted proxy"
    );
    assert_eq!(value_after(&config, "bind ="), "\"0.0.0.0:8080\"");
    assert_eq!(value_after(&site, "\n    server web:"), "8080;");
    assert!(
        compose.contains("\n  web:\n"),
        "the upstream `web` is a service"
    );
    assert!(compose.contains("./nginx/coffer.conf:/etc/nginx/conf.d/coffer.conf:ro"));
    assert!(compose.contains("./deploy/coffer.toml:/etc/coffer/coffer.toml:ro"));
    assert!(compose.contains("coffer-keys:/var/lib/coffer/keys"));
}

#[test]
fn every_secret_comes_from_the_env_file() {
    let compose = read("docker-compose.prod.yml");
    let example = read("deploy/coffer.env.example");
    let mut named = Vec::new();
    for line in compose.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            let end = start + rest[start..].find('}').unwrap();
            let name = rest[start + 2..end].split([':', '-']).next().unwrap();
            named.push(name.to_string());
            rest = &rest[end..];
        }
    }
    assert!(named.len() >= 5, "{named:?}");
    for name in &named {
        assert!(
            example.contains(&format!("\n{name}=")),
            "deploy/coffer.env.example lists {name}"
        );
    }
    for secret in [
        "POSTGRES_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "COFFER_S3_SECRET_KEY",
    ] {
        assert!(
            example.contains(&format!("\n{secret}=\n")),
            "the example leaves {secret} empty"
        );
        assert!(
            compose.contains(&format!("${{{secret}:?")),
            "compose stops when {secret} is unset"
        );
    }
    let ignored = read(".gitignore");
    assert!(ignored.contains("/deploy/coffer.env\n") && ignored.contains("/deploy/tls/*\n"));
    let docker_ignored = read(".dockerignore");
    assert!(
        docker_ignored.contains("/deploy/coffer.env\n") && docker_ignored.contains("/deploy/tls\n")
    );
}
