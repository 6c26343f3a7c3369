//! The few S3 requests object_store has no call for (Object Lock: a bucket's configuration,
//! an object version's retention and the date it holds), sent with the same credentials,
//! client options and SigV4 signer (object_store's `AwsAuthorizer`) as every other request.

use std::io;

use bytes::Bytes;
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::path::Path;
use object_store::ClientOptions;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::S3Settings;

/// S3 keeps these unescaped in a path segment (RFC 3986 unreserved); SigV4 escapes the rest.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An answer: status and body.
pub(super) struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    /// S3's error code (`<Code>…</Code>`), for messages.
    pub fn code(&self) -> &str {
        xml_value(&self.body, "Code").unwrap_or("")
    }
}

pub(super) struct SignedClient {
    client: HttpClient,
    credential: AwsCredential,
    region: String,
    /// The bucket's URL, as object_store builds it (path style or virtual host).
    bucket_url: String,
    sign_payload: bool,
}

impl SignedClient {
    pub fn new(settings: &S3Settings, options: &ClientOptions) -> io::Result<SignedClient> {
        let client = ReqwestConnector::default()
            .connect(options)
            .map_err(|e| io::Error::other(format!("S3 client: {e}")))?;
        let bucket = &settings.bucket;
        let region = &settings.region;
        // The same rule as object_store's builder, so both reach the same bucket.
        let bucket_url = match (&settings.endpoint, settings.path_style) {
            (Some(endpoint), true) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            (Some(endpoint), false) => endpoint.trim_end_matches('/').to_string(),
            (None, false) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, true) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        Ok(SignedClient {
            client,
            credential: AwsCredential {
                key_id: settings.access_key_id.clone(),
                secret_key: settings.secret_access_key.clone(),
                token: settings.session_token.clone(),
            },
            region: settings.region.clone(),
            bucket_url,
            sign_payload: !settings.unsigned_payload,
        })
    }

    /// The URL of an object (`path` with the prefix) plus `query` (`?retention`, or empty).
    pub fn object_url(&self, path: &Path, query: &str) -> String {
        let escaped: Vec<String> = path
            .as_ref()
            .split('/')
            .map(|part| utf8_percent_encode(part, SEGMENT).to_string())
            .collect();
        format!("{}/{}{query}", self.bucket_url, escaped.join("/"))
    }

    /// The URL of the bucket itself plus `query`.
    pub fn bucket_url(&self, query: &str) -> String {
        format!("{}{query}", self.bucket_url)
    }

    /// Signs and sends one request; an HTTP error status is an answer, not an error.
    pub async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> io::Result<Answer> {
        let mut builder = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let mut request: HttpRequest = builder
            .body(Bytes::from(body).into())
            .map_err(|e| io::Error::other(format!("S3 request to {url}: {e}")))?;
        AwsAuthorizer::new(&self.credential, "s3", &self.region)
            .with_sign_payload(self.sign_payload)
            .try_authorize(&mut request, None)
            .map_err(|e| io::Error::other(format!("signing the S3 request: {e}")))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| io::Error::other(format!("S3 request to {url}: {e}")))?;
        let status = response.status().as_u16();
        let (parts, body) = response.into_parts();
        let body = body
            .bytes()
            .await
            .map_err(|e| io::Error::other(format!("S3 answer from {url}: {e}")))?;
        Ok(Answer {
            status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// The text of the first `<tag>…</tag>` in an S3 XML answer (no attributes, no nesting).
pub(super) fn xml_value<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..start + end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>, path_style: bool) -> S3Settings {
        S3Settings {
            endpoint: endpoint.map(str::to_string),
            region: "eu-central-1".into(),
            bucket: "vault".into(),
            prefix: String::new(),
            path_style,
            access_key_id: "a".into(),
            secret_access_key: "b".into(),
            session_token: None,
            part_size: 5 << 20,
            unsigned_payload: false,
        }
    }

    #[test]
    fn urls_reach_the_bucket_object_store_reaches() {
        crate::storage::install_tls_provider();
        let options = ClientOptions::new();
        let url = |endpoint, path_style| {
            SignedClient::new(&settings(endpoint, path_style), &options)
                .unwrap()
                .object_url(&Path::from("prod/2026/12/a.tar.gz"), "?retention")
        };
        assert_eq!(
            url(Some("http://minio:9000/"), true),
            "http://minio:9000/vault/prod/2026/12/a.tar.gz?retention"
        );
        assert_eq!(
            url(None, false),
            "https://vault.s3.eu-central-1.amazonaws.com/prod/2026/12/a.tar.gz?retention"
        );
        assert_eq!(
            xml_value("<Error><Code>AccessDenied</Code></Error>", "Code"),
            Some("AccessDenied")
        );
    }
}
