//! Item permissions (Push API JSON): reading never panics; what reads writes back to JSON that
//! reads again to the same JSON; evaluation of what reads never panics and both evaluation
//! paths agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use permissions::{
    explain, AccessContext, AccessIndex, IdentityGraph, IdentityKey, PermissionModel, Viewer,
    Visibility,
};

fuzz_target!(|data: &[u8]| {
    let Ok(model) = serde_json::from_slice::<PermissionModel>(data) else {
        return;
    };
    let json = serde_json::to_string(&model).expect("a model always serializes");
    let again: PermissionModel = serde_json::from_str(&json).expect("written JSON reads back");
    assert_eq!(serde_json::to_string(&again).expect("serializes"), json);

    let mut graph = IdentityGraph::new();
    graph.add_member(&IdentityKey::group("P", "g"), &IdentityKey::user("P", "u"));
    graph.add_member(&IdentityKey::group("P", "g"), &IdentityKey::group("P", "g"));
    let ctx = AccessContext::new(&graph, "P");
    let viewers = vec![
        Viewer::Anonymous,
        Viewer::Identity(IdentityKey::user("P", "u")),
    ];
    let index = AccessIndex::new(ctx, viewers.clone());
    let visible = index.visible_to(&model);
    for (i, viewer) in viewers.iter().enumerate() {
        let explained = explain(&ctx, &model, viewer);
        assert_eq!(
            visible.contains(i),
            explained.visibility == Visibility::Visible
        );
        let _ = explained.to_string();
    }
});
