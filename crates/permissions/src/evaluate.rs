//! Evaluation of a permission model for a viewer, with an explanation a UI can draw
//! (reference §4.3–4.5), and the queries built on it: who can see an item, what a viewer can
//! see, who gains or loses access when a model changes, and the whole viewer × item matrix.
//!
//! Two paths compute the same answer:
//! - [`explain`] walks one model for one viewer and records every set's outcome, every entry
//!   that matched and the chain that reached it. Use it to show *why*.
//! - [`AccessIndex`] expands each viewer once, then evaluates a model for all viewers at once
//!   with bitsets over viewers (one OR per permission entry, a few ANDs per set). Use it to
//!   answer *who* over many viewers and items. The property tests check both agree.
//!
//! The rules, as the reference states them:
//! - a set is **Denied** if any identity of the viewer matches `deniedPermissions` (deny beats
//!   allow, `allowAnonymous` included); else **Allowed** if `allowAnonymous` or any identity
//!   matches `allowedPermissions`; else **Unspecified**;
//! - a level denies if any of its sets is Denied, allows if every set is Allowed, and is
//!   inconclusive otherwise; levels are read in order and the first that decides wins;
//!   nothing decides → hidden. The simple model is one implicit level.
//! - **Uncertain reading** (§4.5): a viewer allowed in some but not all sets of a level, and
//!   denied in none, is inconclusive at that level here (the reference's recommendation), and
//!   evaluation continues. The explanation labels this [`LevelOutcome::PartlyAllowed`] and,
//!   when a later level then shows the item, names the level in
//!   [`Explanation::uncertain_level`] (the stricter reading would hide the item there).
//! - A level with no permission sets decides nothing (an empty `permissions` array hides the
//!   item: reference §4.4 "likely nobody can see the item").

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::graph::{Chain, Expansion, IdentityGraph, IdentityId, IdentityKey, Viewer};
use crate::model::{PermissionIdentity, PermissionModel, PermissionSet};

/// What evaluation needs besides the model and the viewer.
#[derive(Debug, Clone, Copy)]
pub struct AccessContext<'a> {
    /// The identities of every provider the source uses.
    pub graph: &'a IdentityGraph,
    /// The provider an entry without `securityProvider` names: the source's first provider.
    pub default_provider: &'a str,
}

impl<'a> AccessContext<'a> {
    pub fn new(graph: &'a IdentityGraph, default_provider: &'a str) -> Self {
        Self {
            graph,
            default_provider,
        }
    }
}

/// Visible or hidden: the final answer for one viewer and one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Visibility {
    Visible,
    Hidden,
}

/// The outcome of one permission set for one viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SetOutcome {
    Allowed,
    Denied,
    /// Neither allowed nor denied: counts as not allowed.
    Unspecified,
}

/// The outcome of one permission level for one viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LevelOutcome {
    /// Every set allows: the item is visible (if no earlier level decided).
    Allowed,
    /// A set denies: the item is hidden (if no earlier level decided).
    Denied,
    /// No set allows or denies (or the level has no sets): the next level decides.
    Inconclusive,
    /// The uncertain case of reference §4.5: allowed in some but not all sets, denied in
    /// none. Treated as inconclusive (the reference's recommendation); the stricter reading
    /// would hide the item here.
    PartlyAllowed,
}

/// An entry of a set that names one of the viewer's identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryMatch {
    /// Position in `allowedPermissions` or `deniedPermissions`.
    pub entry_index: usize,
    pub entry: PermissionIdentity,
    /// The identity the entry names (the default provider filled in).
    pub identity: IdentityKey,
    /// How the viewer reached that identity.
    pub chain: Chain,
}

/// One set, for one viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetExplanation {
    pub index: usize,
    pub outcome: SetOutcome,
    pub allow_anonymous: bool,
    pub allowed_by: Vec<EntryMatch>,
    pub denied_by: Vec<EntryMatch>,
}

/// One level, for one viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelExplanation {
    pub index: usize,
    pub name: Option<String>,
    pub outcome: LevelOutcome,
    /// False for the levels after the one that decided: shown for information, ignored.
    pub evaluated: bool,
    pub sets: Vec<SetExplanation>,
}

/// Which level decided, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Decision {
    AllowedAtLevel {
        level: usize,
    },
    DeniedAtLevel {
        level: usize,
    },
    /// No level allowed or denied: hidden.
    NoLevelDecided,
}

/// Why a viewer can or cannot see an item: data a UI can draw, and [`fmt::Display`] as a
/// few plain sentences for the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub viewer: Viewer,
    pub visibility: Visibility,
    pub decision: Decision,
    /// True for the complete model (named levels); false for the simple model, whose sets
    /// form one implicit level.
    pub complete_model: bool,
    pub levels: Vec<LevelExplanation>,
    /// Set when the item is visible but an earlier level was [`LevelOutcome::PartlyAllowed`]:
    /// under the stricter reading of §4.5 that level would have hidden the item.
    pub uncertain_level: Option<usize>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level_name = |i: usize| -> String {
            if !self.complete_model {
                return "the permission sets".to_owned();
            }
            match self.levels.get(i).and_then(|l| l.name.as_deref()) {
                Some(name) => format!("level {} ({name:?})", i + 1),
                None => format!("level {}", i + 1),
            }
        };
        match self.decision {
            Decision::AllowedAtLevel { level } => write!(
                f,
                "{}: visible, every set of {} allows",
                self.viewer,
                level_name(level)
            )?,
            Decision::DeniedAtLevel { level } => write!(
                f,
                "{}: hidden, a set of {} denies",
                self.viewer,
                level_name(level)
            )?,
            Decision::NoLevelDecided => {
                write!(f, "{}: hidden, no level allows or denies", self.viewer)?
            }
        }
        for level in self.levels.iter().filter(|l| l.evaluated) {
            for set in &level.sets {
                if self.complete_model {
                    write!(f, "\n  level {} ", level.index + 1)?;
                } else {
                    f.write_str("\n  ")?;
                }
                write!(f, "set {}: {:?}", set.index + 1, set.outcome)?;
                if set.allow_anonymous && set.outcome == SetOutcome::Allowed {
                    f.write_str(" (allowAnonymous)")?;
                }
                for m in set.denied_by.iter().chain(&set.allowed_by).take(1) {
                    write!(f, " via {}", m.chain)?;
                }
            }
            if level.outcome == LevelOutcome::PartlyAllowed {
                write!(
                    f,
                    "\n  inconclusive at {}: allowed in some but not all sets, denied in none \
                     (evaluation continues)",
                    level_name(level.index)
                )?;
            }
        }
        if let Some(level) = self.uncertain_level {
            write!(
                f,
                "\n  uncertain: under the stricter reading of the documentation, {} would hide \
                 this item",
                level_name(level)
            )?;
        }
        Ok(())
    }
}

/// The levels of a model as (name, sets), without cloning.
fn levels_of(model: &PermissionModel) -> Vec<(Option<&str>, &[PermissionSet])> {
    match model {
        PermissionModel::Simple(sets) => vec![(None, sets.as_slice())],
        PermissionModel::Complete(levels) => levels
            .iter()
            .map(|l| (l.name.as_deref(), l.permission_sets.as_slice()))
            .collect(),
    }
}

/// Why `viewer` can or cannot see an item with `model`.
pub fn explain(ctx: &AccessContext<'_>, model: &PermissionModel, viewer: &Viewer) -> Explanation {
    explain_expanded(ctx, model, viewer, &ctx.graph.expand(viewer))
}

/// [`explain`] with an expansion computed once for many items (`expansion` must be
/// `ctx.graph.expand(viewer)`, or a querying user's expansion from [`crate::querying`]).
pub fn explain_expanded(
    ctx: &AccessContext<'_>,
    model: &PermissionModel,
    viewer: &Viewer,
    expansion: &Expansion,
) -> Explanation {
    explain_matching(ctx, model, viewer, &|identity| {
        expansion.chain_to(ctx.graph, identity)
    })
}

/// The evaluation itself: `chain_of` says whether the viewer holds the identity an entry names
/// (the default provider filled in), and how.
pub(crate) fn explain_matching(
    ctx: &AccessContext<'_>,
    model: &PermissionModel,
    viewer: &Viewer,
    chain_of: &dyn Fn(&IdentityKey) -> Option<Chain>,
) -> Explanation {
    let matches = |entries: &[PermissionIdentity]| -> Vec<EntryMatch> {
        entries
            .iter()
            .enumerate()
            .filter_map(|(entry_index, entry)| {
                let identity = IdentityKey::of_entry(entry, ctx.default_provider);
                let chain = chain_of(&identity)?;
                Some(EntryMatch {
                    entry_index,
                    entry: entry.clone(),
                    identity,
                    chain,
                })
            })
            .collect()
    };
    let mut levels = Vec::new();
    let mut decision = Decision::NoLevelDecided;
    let mut first_partly_allowed = None;
    for (index, (name, sets)) in levels_of(model).into_iter().enumerate() {
        let sets: Vec<SetExplanation> = sets
            .iter()
            .enumerate()
            .map(|(index, set)| {
                let denied_by = matches(&set.denied_permissions);
                let allowed_by = matches(&set.allowed_permissions);
                let outcome = if !denied_by.is_empty() {
                    SetOutcome::Denied
                } else if set.allow_anonymous || !allowed_by.is_empty() {
                    SetOutcome::Allowed
                } else {
                    SetOutcome::Unspecified
                };
                SetExplanation {
                    index,
                    outcome,
                    allow_anonymous: set.allow_anonymous,
                    allowed_by,
                    denied_by,
                }
            })
            .collect();
        let allowed = sets
            .iter()
            .filter(|s| s.outcome == SetOutcome::Allowed)
            .count();
        let outcome = if sets.iter().any(|s| s.outcome == SetOutcome::Denied) {
            LevelOutcome::Denied
        } else if !sets.is_empty() && allowed == sets.len() {
            LevelOutcome::Allowed
        } else if allowed > 0 {
            LevelOutcome::PartlyAllowed
        } else {
            LevelOutcome::Inconclusive
        };
        let evaluated = decision == Decision::NoLevelDecided;
        if evaluated {
            match outcome {
                LevelOutcome::Allowed => decision = Decision::AllowedAtLevel { level: index },
                LevelOutcome::Denied => decision = Decision::DeniedAtLevel { level: index },
                LevelOutcome::PartlyAllowed => {
                    first_partly_allowed = first_partly_allowed.or(Some(index));
                }
                LevelOutcome::Inconclusive => {}
            }
        }
        levels.push(LevelExplanation {
            index,
            name: name.map(str::to_owned),
            outcome,
            evaluated,
            sets,
        });
    }
    let visibility = match decision {
        Decision::AllowedAtLevel { .. } => Visibility::Visible,
        _ => Visibility::Hidden,
    };
    Explanation {
        viewer: viewer.clone(),
        visibility,
        decision,
        complete_model: matches!(model, PermissionModel::Complete(_)),
        levels,
        uncertain_level: if visibility == Visibility::Visible {
            first_partly_allowed
        } else {
            None
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Many viewers at once
// ---------------------------------------------------------------------------------------------

/// A set of viewers, by their position in an [`AccessIndex`]'s viewer list.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ViewerSet {
    words: Vec<u64>,
    len: usize,
}

impl fmt::Debug for ViewerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl ViewerSet {
    fn empty(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    fn fill(&mut self) {
        self.words.iter_mut().for_each(|w| *w = u64::MAX);
        if self.len % 64 != 0 {
            if let Some(last) = self.words.last_mut() {
                *last = (1u64 << (self.len % 64)) - 1;
            }
        }
    }

    fn clear(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    fn or(&mut self, other: &Self) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a |= b);
    }

    fn and(&mut self, other: &Self) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a &= b);
    }

    fn and_not(&mut self, other: &Self) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a &= !b);
    }

    /// `self |= a & b`
    fn or_and(&mut self, a: &Self, b: &Self) {
        for ((out, a), b) in self.words.iter_mut().zip(&a.words).zip(&b.words) {
            *out |= a & b;
        }
    }

    /// The number of viewers the index had (not the number in the set: see [`count`](Self::count)).
    pub fn capacity(&self) -> usize {
        self.len
    }

    pub fn contains(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// Positions in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, word)| {
            let mut bits = *word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + bit)
            })
        })
    }
}

/// The viewers that reach one identity. Stored sparse when few viewers reach it (a user's
/// own identity), dense when many do (a big group): memory stays proportional to the
/// smaller of the two, and OR-ing either into an accumulator is cheap.
#[derive(Debug, Clone)]
enum Reach {
    Sparse(Vec<u32>),
    Dense(ViewerSet),
}

impl Reach {
    fn or_into(&self, acc: &mut ViewerSet) {
        match self {
            Self::Sparse(viewers) => viewers.iter().for_each(|v| acc.insert(*v as usize)),
            Self::Dense(set) => acc.or(set),
        }
    }
}

/// A sparse list of this many viewers or fewer costs no more memory than a bitset of
/// `viewers` bits: 32 bits per entry against 1 bit per viewer.
fn sparse_limit(viewers: usize) -> usize {
    viewers / 32
}

/// Every viewer expanded once, ready to evaluate many models for all of them at once.
///
/// Building costs one expansion per viewer; each model then costs one OR of a viewer set per
/// permission entry plus a few ANDs per set, independent of how deep groups are nested.
#[derive(Debug)]
pub struct AccessIndex<'a> {
    ctx: AccessContext<'a>,
    viewers: Vec<Viewer>,
    /// Per graph identity, the viewers whose expansion contains it (`None`: no viewer).
    reach: Vec<Option<Reach>>,
    /// Viewers the graph never saw reach only themselves.
    strangers: HashMap<IdentityKey, Vec<u32>>,
    /// The viewers' expansions when built [`from_expansions`](Self::from_expansions).
    expansions: Vec<Expansion>,
}

/// Scratch sets reused across the models of one evaluation run.
struct Scratch {
    undecided: ViewerSet,
    visible: ViewerSet,
    denied: ViewerSet,
    allowed: ViewerSet,
    level_denied: ViewerSet,
    level_allowed: ViewerSet,
}

impl<'a> AccessIndex<'a> {
    /// Expands every viewer. Duplicated viewers are kept (each has its own position).
    pub fn new(ctx: AccessContext<'a>, viewers: Vec<Viewer>) -> Self {
        let graph = ctx.graph;
        let mut per_identity: Vec<Vec<u32>> = vec![Vec::new(); graph.len()];
        let mut strangers: HashMap<IdentityKey, Vec<u32>> = HashMap::new();
        let mut seen = Vec::new();
        let mut reached = Vec::new();
        for (position, viewer) in viewers.iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            let Viewer::Identity(key) = viewer else {
                continue;
            };
            match graph.id_of(key) {
                Some(start) => {
                    graph.expand_ids(start, &mut seen, &mut reached);
                    for id in &reached {
                        per_identity[id.index()].push(position);
                    }
                }
                None => strangers.entry(key.clone()).or_default().push(position),
            }
        }
        Self::finish(ctx, viewers, per_identity, strangers, Vec::new())
    }

    /// An index over viewers already expanded (querying users resolved by
    /// [`crate::AccessAnalysis`]): `viewers[i]` is the viewer of `expansions[i]`.
    /// [`explain`](Self::explain) then explains with these expansions.
    pub fn from_expansions(
        ctx: AccessContext<'a>,
        viewers: Vec<Viewer>,
        expansions: Vec<Expansion>,
    ) -> Self {
        let mut per_identity: Vec<Vec<u32>> = vec![Vec::new(); ctx.graph.len()];
        let mut strangers: HashMap<IdentityKey, Vec<u32>> = HashMap::new();
        for (position, expansion) in expansions.iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            for id in expansion.ids() {
                per_identity[id.index()].push(position);
            }
            if let Some(root) = expansion.stranger_root() {
                strangers.entry(root.clone()).or_default().push(position);
            }
        }
        Self::finish(ctx, viewers, per_identity, strangers, expansions)
    }

    fn finish(
        ctx: AccessContext<'a>,
        viewers: Vec<Viewer>,
        per_identity: Vec<Vec<u32>>,
        strangers: HashMap<IdentityKey, Vec<u32>>,
        expansions: Vec<Expansion>,
    ) -> Self {
        let limit = sparse_limit(viewers.len());
        let reach = per_identity
            .into_iter()
            .map(|list| match list.len() {
                0 => None,
                n if n <= limit.max(1) => Some(Reach::Sparse(list)),
                _ => {
                    let mut set = ViewerSet::empty(viewers.len());
                    list.iter().for_each(|v| set.insert(*v as usize));
                    Some(Reach::Dense(set))
                }
            })
            .collect();
        Self {
            ctx,
            viewers,
            reach,
            strangers,
            expansions,
        }
    }

    /// An index over the graph's known users plus anonymous (the last position).
    pub fn over_known_users(ctx: AccessContext<'a>) -> Self {
        let mut viewers = ctx.graph.users();
        viewers.push(Viewer::Anonymous);
        Self::new(ctx, viewers)
    }

    pub fn context(&self) -> &AccessContext<'a> {
        &self.ctx
    }

    pub fn viewers(&self) -> &[Viewer] {
        &self.viewers
    }

    /// The position of a viewer, if the index has it.
    pub fn position(&self, viewer: &Viewer) -> Option<usize> {
        self.viewers.iter().position(|v| v == viewer)
    }

    fn scratch(&self) -> Scratch {
        let n = self.viewers.len();
        Scratch {
            undecided: ViewerSet::empty(n),
            visible: ViewerSet::empty(n),
            denied: ViewerSet::empty(n),
            allowed: ViewerSet::empty(n),
            level_denied: ViewerSet::empty(n),
            level_allowed: ViewerSet::empty(n),
        }
    }

    /// ORs into `acc` the viewers that reach the identity an entry names.
    fn or_entry(&self, entry: &PermissionIdentity, acc: &mut ViewerSet) {
        if let Some(id) = self.ctx.graph.id_of_entry(entry, self.ctx.default_provider) {
            if let Some(reach) = &self.reach[IdentityId::index(id)] {
                reach.or_into(acc);
            }
        } else if !self.strangers.is_empty() {
            let key = IdentityKey::of_entry(entry, self.ctx.default_provider);
            for v in self.strangers.get(&key).into_iter().flatten() {
                acc.insert(*v as usize);
            }
        }
    }

    fn visible_into(&self, model: &PermissionModel, s: &mut Scratch) {
        s.undecided.fill();
        s.visible.clear();
        for (_, sets) in levels_of(model) {
            if sets.is_empty() {
                continue;
            }
            s.level_denied.clear();
            s.level_allowed.fill();
            for set in sets {
                s.denied.clear();
                set.denied_permissions
                    .iter()
                    .for_each(|e| self.or_entry(e, &mut s.denied));
                if set.allow_anonymous {
                    s.allowed.fill();
                } else {
                    s.allowed.clear();
                    set.allowed_permissions
                        .iter()
                        .for_each(|e| self.or_entry(e, &mut s.allowed));
                }
                s.allowed.and_not(&s.denied);
                s.level_denied.or(&s.denied);
                s.level_allowed.and(&s.allowed);
            }
            s.visible.or_and(&s.undecided, &s.level_allowed);
            s.undecided.and_not(&s.level_denied);
            s.undecided.and_not(&s.level_allowed);
            if s.undecided.is_empty() {
                break;
            }
        }
    }

    /// The viewers who can see an item with `model`.
    pub fn visible_to(&self, model: &PermissionModel) -> ViewerSet {
        let mut scratch = self.scratch();
        self.visible_into(model, &mut scratch);
        scratch.visible
    }

    /// The viewers who can see an item with `model`; `None`: the item has no permissions, so
    /// every viewer can (anonymous included).
    pub fn visible_to_item(&self, model: Option<&PermissionModel>) -> ViewerSet {
        match model {
            Some(model) => self.visible_to(model),
            None => {
                let mut all = ViewerSet::empty(self.viewers.len());
                all.fill();
                all
            }
        }
    }

    /// Who can see an item with `model`, among the index's viewers.
    pub fn who_can_see(&self, model: &PermissionModel) -> Vec<&Viewer> {
        self.visible_to(model)
            .iter()
            .map(|i| &self.viewers[i])
            .collect()
    }

    /// Who gains and who loses access when an item's model changes from `before` to `after`.
    /// For a new item, pass an empty model (`PermissionModel::Simple(vec![])`) as `before`.
    pub fn diff(&self, before: &PermissionModel, after: &PermissionModel) -> AccessDiff {
        let before = self.visible_to(before);
        let after = self.visible_to(after);
        let mut diff = AccessDiff::default();
        for (i, viewer) in self.viewers.iter().enumerate() {
            match (before.contains(i), after.contains(i)) {
                (false, true) => diff.gained.push(viewer.clone()),
                (true, false) => diff.lost.push(viewer.clone()),
                (true, true) => diff.kept.push(viewer.clone()),
                (false, false) => {}
            }
        }
        diff
    }

    /// Which items each viewer can see: one [`ViewerSet`] per item, in `items` order.
    pub fn matrix<'m>(&self, items: impl IntoIterator<Item = &'m PermissionModel>) -> AccessMatrix {
        let mut scratch = self.scratch();
        let visible = items
            .into_iter()
            .map(|model| {
                self.visible_into(model, &mut scratch);
                scratch.visible.clone()
            })
            .collect();
        AccessMatrix {
            viewer_count: self.viewers.len(),
            visible,
        }
    }

    /// Why the viewer at `position` can or cannot see an item with `model`.
    pub fn explain(&self, model: &PermissionModel, position: usize) -> Option<Explanation> {
        let viewer = self.viewers.get(position)?;
        Some(match self.expansions.get(position) {
            Some(expansion) => explain_expanded(&self.ctx, model, viewer, expansion),
            None => explain(&self.ctx, model, viewer),
        })
    }
}

/// Who gains, who loses and who keeps access when a model changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessDiff {
    pub gained: Vec<Viewer>,
    pub lost: Vec<Viewer>,
    pub kept: Vec<Viewer>,
}

impl AccessDiff {
    pub fn is_unchanged(&self) -> bool {
        self.gained.is_empty() && self.lost.is_empty()
    }
}

/// Viewer × item visibility, item-major (one [`ViewerSet`] per item).
#[derive(Debug, Clone)]
pub struct AccessMatrix {
    viewer_count: usize,
    visible: Vec<ViewerSet>,
}

impl AccessMatrix {
    pub fn item_count(&self) -> usize {
        self.visible.len()
    }

    pub fn viewer_count(&self) -> usize {
        self.viewer_count
    }

    /// The viewers who can see item `item` (panics if out of range).
    pub fn viewers_of(&self, item: usize) -> &ViewerSet {
        &self.visible[item]
    }

    pub fn is_visible(&self, item: usize, viewer: usize) -> bool {
        self.visible
            .get(item)
            .is_some_and(|set| set.contains(viewer))
    }

    /// The items the viewer at `viewer` can see, ascending.
    pub fn items_of(&self, viewer: usize) -> Vec<usize> {
        (0..self.visible.len())
            .filter(|i| self.visible[*i].contains(viewer))
            .collect()
    }

    /// For every viewer, the items it can see, ascending ("what can each user see").
    pub fn by_viewer(&self) -> Vec<Vec<u32>> {
        // Count first so that every list is allocated once, at its final size.
        let mut counts = vec![0usize; self.viewer_count];
        for set in &self.visible {
            set.iter().for_each(|v| counts[v] += 1);
        }
        let mut out: Vec<Vec<u32>> = counts.into_iter().map(Vec::with_capacity).collect();
        for (item, set) in self.visible.iter().enumerate() {
            let item = u32::try_from(item).unwrap_or(u32::MAX);
            set.iter().for_each(|v| out[v].push(item));
        }
        out
    }

    /// Number of (viewer, item) pairs that are visible.
    pub fn visible_pairs(&self) -> usize {
        self.visible.iter().map(ViewerSet::count).sum()
    }
}

/// Who can see an item with `model`, among `viewers` (e.g. [`IdentityGraph::users`]).
pub fn who_can_see(
    ctx: &AccessContext<'_>,
    model: &PermissionModel,
    viewers: &[Viewer],
) -> Vec<Viewer> {
    let index = AccessIndex::new(*ctx, viewers.to_vec());
    index.who_can_see(model).into_iter().cloned().collect()
}

/// The positions in `items` that `viewer` can see.
pub fn what_can_see<'m>(
    ctx: &AccessContext<'_>,
    viewer: &Viewer,
    items: impl IntoIterator<Item = &'m PermissionModel>,
) -> Vec<usize> {
    let index = AccessIndex::new(*ctx, vec![viewer.clone()]);
    index.matrix(items).items_of(0)
}

/// Who gains and who loses access, among `viewers`, when a model changes.
pub fn diff(
    ctx: &AccessContext<'_>,
    before: &PermissionModel,
    after: &PermissionModel,
    viewers: &[Viewer],
) -> AccessDiff {
    AccessIndex::new(*ctx, viewers.to_vec()).diff(before, after)
}
