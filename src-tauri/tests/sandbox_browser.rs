//! The Sandbox browser reads the embedded emulator through its typed API (no loopback HTTP,
//! no JSON picked apart): the list, the text filter, "view as" a user, and one item's detail,
//! checked against what the emulator's inspection API answers for the same questions.

use std::sync::Arc;

use pushdeck_app::dto::*;
use pushdeck_app::host::{Host, HostPaths};
use serde_json::{json, Value};

struct Sandbox {
    url: String,
    key: String,
    http: reqwest::Client,
}

impl Sandbox {
    /// The app's Sandbox, from what it announces in `sandbox.json`.
    fn of(paths: &HostPaths) -> Self {
        let announce: Value = serde_json::from_slice(
            &std::fs::read(paths.data_dir.join("sandbox/sandbox.json")).unwrap(),
        )
        .unwrap();
        Self {
            url: announce["url"].as_str().unwrap().to_owned(),
            key: announce["api_key"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn put(&self, path: &str, body: Value) {
        let r = self
            .http
            .put(format!("{}/push/v1/organizations/sandbox{path}", self.url))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED, "{path}");
    }

    /// The documentIds the inspection API says `user` (of the Sandbox's provider) sees.
    async fn visible_over_http(&self, user: &str) -> Vec<String> {
        let answer: Value = self
            .http
            .get(format!(
                "{}/_emulator/v1/organizations/sandbox/sources/documents/search?user={user}&provider=sandbox&visibleOnly=true",
                self.url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["documentId"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn query(text: &str, as_user: Option<&str>) -> SandboxQuery {
    SandboxQuery {
        offset: 0,
        limit: 50,
        text: text.into(),
        as_user: as_user.map(str::to_owned),
    }
}

fn ids(page: &SandboxPage) -> Vec<&str> {
    page.items.iter().map(|i| i.document_id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_browser_lists_filters_views_as_and_details_items() {
    let dirs = tempfile::tempdir().unwrap();
    let paths = HostPaths {
        config_dir: dirs.path().join("config"),
        data_dir: dirs.path().join("data"),
    };
    let host: Arc<Host> = Host::start(paths.clone(), Arc::new(|_| {})).await.unwrap();
    let sandbox = Sandbox::of(&paths);
    sandbox
        .put(
            "/providers/sandbox/permissions",
            json!({"identity": {"name": "HR", "type": "GROUP"},
                "members": [{"name": "asmith", "type": "USER"}]}),
        )
        .await;
    let document = |id: &str| {
        format!(
            "/sources/documents/documents?documentId={}",
            id.replace(':', "%3A").replace('/', "%2F")
        )
    };
    sandbox
        .put(
            &document("file:///docs/hr/pay.txt"),
            json!({"data": "Salaries of the year", "title": "Pay scales", "fileExtension": ".txt",
                "permissions": [{"allowedPermissions": [{"identity": "HR", "identityType": "Group"}]}]}),
        )
        .await;
    sandbox
        .put(
            &document("file:///docs/news.html"),
            json!({"data": "<p>Company news</p>", "fileExtension": ".html",
                "permissions": [{"allowAnonymous": true}]}),
        )
        .await;
    host.drain_sandbox().await;

    let all = host.list_sandbox_items(query("", None)).await.unwrap();
    assert_eq!(all.total, 2, "{all:?}");
    assert_eq!(
        ids(&all),
        ["file:///docs/hr/pay.txt", "file:///docs/news.html"]
    );
    let pay = &all.items[0];
    assert_eq!(pay.title, "Pay scales");
    assert_eq!(pay.file_type, "txt");
    assert_eq!(pay.size, "Salaries of the year".len() as u64);
    assert!(pay.indexed_at_ms > 0.0, "{pay:?}");
    assert_eq!(all.items[1].title, "news.html", "no title: the file name");

    // Text: in the title or the content, every word.
    let found = host
        .list_sandbox_items(query("company NEWS", None))
        .await
        .unwrap();
    assert_eq!(ids(&found), ["file:///docs/news.html"]);
    let found = host
        .list_sandbox_items(query("scales", None))
        .await
        .unwrap();
    assert_eq!(ids(&found), ["file:///docs/hr/pay.txt"]);

    // View as: what the emulator's search-as says each person sees.
    for (user, expected) in [
        (
            "asmith",
            vec!["file:///docs/hr/pay.txt", "file:///docs/news.html"],
        ),
        ("bob", vec!["file:///docs/news.html"]),
    ] {
        let page = host
            .list_sandbox_items(query("", Some(user)))
            .await
            .unwrap();
        assert_eq!(ids(&page), expected, "{user}");
        assert_eq!(sandbox.visible_over_http(user).await, expected, "{user}");
    }
    let none = host
        .list_sandbox_items(query("salaries", Some("bob")))
        .await
        .unwrap();
    assert_eq!(none.total, 0);

    let detail = host
        .get_sandbox_item(DocumentRef {
            document_id: "file:///docs/hr/pay.txt".into(),
        })
        .await
        .unwrap();
    assert_eq!(detail.summary, *pay);
    assert_eq!(detail.content, "Salaries of the year");
    assert!(detail.ordering_id > 0);
    assert!(detail
        .metadata
        .iter()
        .any(|m| m.name == "title" && m.value == "Pay scales"));
    assert_eq!(
        detail.permissions.levels.len(),
        1,
        "{:?}",
        detail.permissions
    );
    let missing = host
        .get_sandbox_item(DocumentRef {
            document_id: "file:///nothing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
}
