//! Identity batch files (Push API JSON): reading never panics; applying what reads to a graph
//! and expanding every identity never panics, and every chain starts at the viewer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use permissions::{IdentityBatch, IdentityGraph, Viewer};

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = serde_json::from_slice::<IdentityBatch>(data) else {
        return;
    };
    let json = serde_json::to_string(&batch).expect("a batch always serializes");
    let again: IdentityBatch = serde_json::from_str(&json).expect("written JSON reads back");
    assert_eq!(again, batch);
    let mut graph = IdentityGraph::new();
    graph.apply_batch("P", &batch, "Email");
    let keys: Vec<_> = graph.identities().map(|(_, k)| k.clone()).collect();
    for key in keys {
        let viewer = Viewer::Identity(key.clone());
        let expansion = graph.expand(&viewer);
        for (_, chain) in expansion.reached(&graph) {
            assert_eq!(chain.0.first().map(|l| &l.identity), Some(&key));
        }
    }
});
