//! The command-line grammar (clap derive): every command, flag and help text.
//!
//! This is a public interface (`docs/contracts.md`): scripts and schedulers drive it, so flags
//! are only ever added, never renamed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, as printed at the end of `pushdeck --help` and in the README.
#[cfg(test)]
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  all good
  1  some items failed (each one is listed)
  2  usage or configuration error
  3  authentication or permission problem (no key, key refused, missing privilege)
  4  the API or the network was unreachable after retries";

const ROOT_AFTER_HELP: &str = "\
Without --org (and without an organization in the configuration file), every command works on
the Sandbox: a local Push API emulator whose data lives in Pushdeck's data folder.

The API key comes from the environment variable COVEO_API_KEY, or from the keyring entry that
`pushdeck login --org ORG` stores. It is never read from the command line.

Examples:
  pushdeck push notes.txt --title \"Meeting notes\"           # into the Sandbox
  COVEO_API_KEY=xx... pushdeck push --org myorg --source mysource ./items/
  pushdeck sync ~/Policies --org myorg --source mysource --once
  pushdeck access explain --item ~/Policies/hr/leave.pdf --user ann@example.com

Exit codes:
  0  all good
  1  some items failed (each one is listed)
  2  usage or configuration error
  3  authentication or permission problem (no key, key refused, missing privilege)
  4  the API or the network was unreachable after retries";

/// Keeps folders of documents in sync with a Coveo Push source, with permissions and security
/// identities.
#[derive(Debug, Parser)]
#[command(
    name = "pushdeck",
    version,
    about = "Keep folders of documents in sync with a Coveo Push source, with permissions and security identities.",
    after_help = ROOT_AFTER_HELP,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Print JSON for machines: one object per line per event, then a final summary object.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only problems (and the summary with --json).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log what happens to standard error (-v: info, -vv: debug, -vvv: trace).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The configuration file [default: the platform's config folder, see `pushdeck config path`].
    #[arg(long, global = true, value_name = "FILE", env = "PUSHDECK_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Where requests go and as whom. Shared by every command that talks to Coveo.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// Coveo organization ID. Without one (here or in the configuration file), the Sandbox is used.
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// Push source ID [Sandbox: documents].
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
    /// Security identity provider ID [Sandbox: sandbox].
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// Coveo region of the organization [default: us].
    #[arg(long, value_enum, value_name = "REGION")]
    pub region: Option<RegionArg>,
    /// Coveo environment [default: prod].
    #[arg(long, value_enum, value_name = "ENV")]
    pub environment: Option<EnvironmentArg>,
    /// Send requests to this origin instead of Coveo's hosts (e.g. http://127.0.0.1:8080):
    /// Push calls go to URL/push/v1/organizations/ORG/...
    #[arg(long, value_name = "URL", conflicts_with_all = ["region", "environment"])]
    pub api_url: Option<String>,
    /// Attempts per request before giving up on a throttled or unreachable API (first included).
    #[arg(long, value_name = "N", env = "PUSHDECK_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegionArg {
    Us,
    Eu,
    Au,
    Ca,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvironmentArg {
    Prod,
    Hipaa,
    Dev,
    Stg,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync folders with their Push source: push new and changed files, delete removed ones.
    #[command(after_help = SYNC_HELP)]
    Sync(SyncArgs),
    /// Push files as items, or folders of Coveo JSON item files.
    #[command(after_help = PUSH_HELP)]
    Push(PushArgs),
    /// Delete items by URI, or every item older than a date.
    #[command(after_help = DELETE_HELP)]
    Delete(DeleteArgs),
    /// Show the connection and the source, or set the source's activity status.
    #[command(after_help = STATUS_HELP)]
    Status(StatusArgs),
    /// Push or delete security identities (users, groups and their members).
    #[command(subcommand, after_help = IDENTITIES_HELP)]
    Identities(IdentitiesCommand),
    /// Preview permissions: who can see an item, and why.
    #[command(subcommand, after_help = ACCESS_HELP)]
    Access(AccessCommand),
    /// Create a Push source (Platform API).
    #[command(subcommand, after_help = SOURCE_HELP)]
    Source(SourceCommand),
    /// Create a security identity provider (Platform API).
    #[command(subcommand, after_help = PROVIDER_HELP)]
    Provider(ProviderCommand),
    /// Create the index fields that item metadata needs (Platform API).
    #[command(subcommand, after_help = FIELDS_HELP)]
    Fields(FieldsCommand),
    /// Store an organization's API key in the operating system's keyring.
    #[command(after_help = LOGIN_HELP)]
    Login(LoginArgs),
    /// Remove an organization's API key from the keyring.
    #[command(after_help = LOGOUT_HELP)]
    Logout(LogoutArgs),
    /// Show, check or locate the configuration file.
    #[command(subcommand, after_help = CONFIG_HELP)]
    Config(ConfigCommand),
    /// Run the local Push API emulator (the Sandbox); prints `listening on http://HOST:PORT` first.
    #[command(after_help = EMULATOR_HELP)]
    Emulator(push_emulator::command::EmulatorArgs),
    /// Run `pushdeck sync --watch` as a systemd user service (Linux servers).
    #[command(subcommand, after_help = SERVICE_HELP)]
    Service(ServiceCommand),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a folder.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

const SYNC_HELP: &str = "\
Examples:
  pushdeck sync ~/Policies --once                        # into the Sandbox
  pushdeck sync ~/Policies --org myorg --source src1 --provider prov1 --once
  pushdeck sync ~/Policies --dry-run                     # print the plan, send nothing
  pushdeck sync --watch                                  # every folder of the configuration file

Without --watch, sync runs once (as with --once): the exit code is 0 only when every change
was accepted, 1 with the list of files that failed, and 2, 3 or 4 when the whole run stopped
(configuration, key, network). With --watch, Ctrl-C or SIGTERM stops cleanly: the batch in
flight is finished and recorded. Add --dry-run to print the plan and send nothing.";

const PUSH_HELP: &str = "\
Examples:
  pushdeck push report.pdf --title \"Q3 report\" --meta department=finance
  pushdeck push a.txt b.txt --allow group:HR --deny user:bob@example.com
  pushdeck push --item-file items.json              # items described in a JSON file
  pushdeck push ./coveo-items/                       # a folder of Coveo JSON item files

A folder is read as Coveo's own CLI reads it: every *.json file below it (recursively), each
holding one item object or an array of items; keys are matched in any letter case; each item
needs a documentId (or uri) and a title.";

const DELETE_HELP: &str = "\
Examples:
  pushdeck delete file:///srv/share/old.pdf
  pushdeck delete https://intranet/a https://intranet/b --children
  pushdeck delete --older-than 2024-01-31            # ISO date, date-time, or epoch milliseconds
  pushdeck delete --older-than 1706659200000 --queue-delay 0";

const STATUS_HELP: &str = "\
Examples:
  pushdeck status                                    # the connection and the source
  pushdeck status --set rebuild                      # open a rebuild activity
  pushdeck status --set idle                         # close it";

const IDENTITIES_HELP: &str = "\
Examples:
  pushdeck identities push people.csv --provider prov1
  pushdeck identities push identities.json
  pushdeck identities delete group:HR
  pushdeck identities older-than 2024-01-31

A CSV file has one line per identity, as the app's import reads it: name, kind (user, group
or virtualGroup), members of a group and aliases of a user (several separated by ;). A member
without a line of its own is a user when its name has an @, else a group. An alias maps to its
user in the Email Security Provider:
  name,kind,members,aliases
  HR,group,ann@example.com;bob@example.com
  Everyone,group,HR
  carl@example.com,user,,MysteryUserX

A JSON file holds Coveo identity bodies: one object or an array of
  {\"identity\": {\"name\": \"HR\", \"type\": \"GROUP\"}, \"members\": [{\"name\": \"ann@example.com\", \"type\": \"USER\"}]}";

const ACCESS_HELP: &str = "\
Examples:
  pushdeck access explain --item ~/Policies/hr/leave.pdf --user ann@example.com
  pushdeck access who --item ~/Policies/hr/leave.pdf
  pushdeck access what --user ann@example.com --folder ~/Policies";

const SOURCE_HELP: &str = "\
Examples:
  pushdeck source create \"Policies\" --org myorg --visibility secured";

const PROVIDER_HELP: &str = "\
Examples:
  pushdeck provider create policies-provider --org myorg --source mysource";

const FIELDS_HELP: &str = "\
Examples:
  pushdeck fields sync ./coveo-items/ --org myorg    # fields for the metadata of these items
  pushdeck fields sync --org myorg                   # fields the configuration file's folders set";

const LOGIN_HELP: &str = "\
Examples:
  pushdeck login --org myorg                         # asks for the key (hidden)
  printf '%s' \"$KEY\" | pushdeck login --org myorg    # reads the key from standard input

The key is never accepted as a command-line argument (other users could read it in the process
list). Commands find it in the keyring by organization; COVEO_API_KEY, when set, wins.";

const LOGOUT_HELP: &str = "\
Examples:
  pushdeck logout --org myorg";

const CONFIG_HELP: &str = "\
Examples:
  pushdeck config path                               # where the configuration file is
  pushdeck config check                              # exit 2 with the line at fault if invalid
  pushdeck config show --json";

const EMULATOR_HELP: &str = "\
Examples:
  pushdeck emulator                                  # in memory, random port, random key
  pushdeck emulator --listen 127.0.0.1:8080 --data ./sandbox --api-key xx-local
  pushdeck push notes.txt --api-url http://127.0.0.1:8080 --org sandbox --source documents";

const SERVICE_HELP: &str = "\
Examples:
  pushdeck service install                           # write the unit, enable and start it
  pushdeck service install --config /srv/pushdeck/config.toml --no-start
  pushdeck service status                            # installed? its ExecStart, is-active
  pushdeck service uninstall                         # stop, disable, remove the unit

One agent per file server: a systemd user unit, ~/.config/systemd/user/pushdeck.service
($XDG_CONFIG_HOME/systemd/user), runs this binary (its absolute path) as
`pushdeck sync --watch --config CONFIG` with the configuration file this command resolves
(--config, PUSHDECK_CONFIG or the default; absolute), and restarts it 30 seconds after a
failure. `install` writes the unit atomically, then runs `systemctl --user daemon-reload` and
`systemctl --user enable --now pushdeck.service`; with --no-start, or without systemctl, it
prints those commands instead. Running it again rewrites the unit only when it changed.

The service runs as you. The API key comes from your keyring entry (`pushdeck login --org
ORG`) when your session's Secret Service is reachable and unlocked, or from COVEO_API_KEY
set in ~/.config/pushdeck/service.env, the unit's EnvironmentFile: created empty with mode
0600, never written to by Pushdeck (add the line yourself, or use `systemctl --user edit
pushdeck` with Environment=). On a server, run `loginctl enable-linger $USER` once so the
service starts at boot and keeps running after you log out.

Linux only: on Windows, run `pushdeck sync --watch` at startup with Task Scheduler; on macOS,
as a launchd agent (~/Library/LaunchAgents).";

const COMPLETIONS_HELP: &str = "\
Examples:
  pushdeck completions bash > ~/.local/share/bash-completion/completions/pushdeck
  pushdeck completions zsh > \"${fpath[1]}/_pushdeck\"
  pushdeck completions fish > ~/.config/fish/completions/pushdeck.fish";

const MAN_HELP: &str = "\
Examples:
  pushdeck man | man -l -                            # read it now
  pushdeck man --out-dir /usr/local/share/man/man1   # pushdeck.1, pushdeck-sync.1, ...";

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Folders to sync [default: every folder of the configuration file].
    #[arg(value_name = "FOLDER")]
    pub folders: Vec<PathBuf>,
    /// Sync once and exit: 0 when every change was accepted, 1 with the failed files otherwise.
    #[arg(long, conflicts_with = "watch")]
    pub once: bool,
    /// Keep watching the folders and sync changes until Ctrl-C or SIGTERM.
    #[arg(long)]
    pub watch: bool,
    /// Print the plan (what would be pushed and deleted) and send nothing.
    #[arg(long, conflicts_with = "watch")]
    pub dry_run: bool,
    /// Push every file again. It deletes the items of the folder whose files are gone, as
    /// every sync does, and nothing else of the source: other folders' items, test uploads and
    /// what other tools pushed stay. Only a folder with `owns_source = true` in the
    /// configuration (the person says it is the source's only writer) also removes every other
    /// item of the source, and only when every file was pushed (docs/safety.md).
    #[arg(long)]
    pub rebuild: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Files to push as items, or folders of Coveo JSON item files.
    #[arg(value_name = "FILE", required_unless_present = "item_file")]
    pub files: Vec<PathBuf>,
    /// A JSON file describing items (one object or an array), Coveo's item format.
    #[arg(long, value_name = "FILE")]
    pub item_file: Option<PathBuf>,
    /// Title of the item [default: the file name]. Only with a single file.
    #[arg(long, value_name = "TITLE")]
    pub title: Option<String>,
    /// Item URI [default: file:// URI of the file]. Only with a single file.
    #[arg(long, value_name = "URI")]
    pub uri: Option<String>,
    /// Metadata KEY=VALUE on every item pushed from files (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Allowed identity (repeatable): user:NAME, group:NAME, virtual-group:NAME, or a plain
    /// NAME for a user.
    #[arg(long, value_name = "IDENTITY")]
    pub allow: Vec<String>,
    /// Denied identity (repeatable), same syntax as --allow.
    #[arg(long, value_name = "IDENTITY")]
    pub deny: Vec<String>,
    /// Let anonymous users see the items (denied identities still cannot).
    #[arg(long)]
    pub anonymous: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// URIs (documentIds) of the items to delete.
    #[arg(
        value_name = "URI",
        required_unless_present = "older_than",
        conflicts_with = "older_than"
    )]
    pub uris: Vec<String>,
    /// Delete every item last pushed before DATE (2024-01-31, 2024-01-31T12:00:00Z or epoch ms).
    /// A DATE in the future (more than 5 minutes ahead of this computer's clock or Coveo's) is
    /// refused and nothing is sent (exit 2): Coveo would delete every item and then refuse new
    /// items until that date, and only recreating the source fixes it.
    #[arg(long, value_name = "DATE")]
    pub older_than: Option<String>,
    /// Also delete the children of each item (items whose parentId is the item).
    #[arg(long, conflicts_with = "older_than")]
    pub children: bool,
    /// With --older-than: minutes Coveo waits before deleting (0 to 1440) [Coveo's default: 15].
    #[arg(long, value_name = "MINUTES", requires = "older_than", value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub queue_delay: Option<u32>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Set the source's activity status instead of showing it.
    #[arg(long, value_enum, value_name = "STATE")]
    pub set: Option<StatusState>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusState {
    Rebuild,
    Refresh,
    Incremental,
    Idle,
}

#[derive(Debug, Subcommand)]
pub enum IdentitiesCommand {
    /// Push identities from a JSON file (Coveo's identity bodies) or a CSV file (name,kind,members,aliases).
    Push(IdentitiesPushArgs),
    /// Delete (disable) one identity: user:NAME, group:NAME or virtual-group:NAME.
    Delete(IdentitiesDeleteArgs),
    /// Disable every identity last pushed before DATE (ISO date or epoch ms).
    OlderThan(IdentitiesOlderThanArgs),
}

#[derive(Debug, Args)]
pub struct IdentitiesPushArgs {
    /// JSON or CSV file (by extension: .csv is CSV, anything else JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct IdentitiesDeleteArgs {
    /// The identity: user:NAME, group:NAME, virtual-group:NAME (a plain NAME is a user).
    #[arg(value_name = "IDENTITY")]
    pub identity: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct IdentitiesOlderThanArgs {
    /// ISO date (2024-01-31), date-time (2024-01-31T12:00:00Z) or epoch milliseconds. A DATE in
    /// the future (more than 5 minutes ahead of this computer's clock or Coveo's) is refused and
    /// nothing is sent (exit 2): Coveo would disable every identity of the provider and then
    /// refuse identity updates until that date, and only recreating the provider fixes it.
    #[arg(value_name = "DATE")]
    pub date: String,
    /// Minutes Coveo waits before disabling (0 to 1440) [Coveo's default: 15].
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub queue_delay: Option<u32>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Explain, step by step, whether USER can see ITEM.
    Explain(AccessExplainArgs),
    /// List who can see ITEM.
    Who(AccessWhoArgs),
    /// List what USER can see in FOLDER.
    What(AccessWhatArgs),
}

#[derive(Debug, Args)]
pub struct AccessExplainArgs {
    /// A file of a configured folder.
    #[arg(long, value_name = "ITEM")]
    pub item: PathBuf,
    /// The user (as Coveo knows them, usually an email address).
    #[arg(long, value_name = "USER")]
    pub user: String,
    /// Identities file (JSON or CSV, as `identities push` reads) to resolve groups with.
    #[arg(long, value_name = "FILE")]
    pub identities: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AccessWhoArgs {
    /// A file of a configured folder.
    #[arg(long, value_name = "ITEM")]
    pub item: PathBuf,
    /// Identities file (JSON or CSV, as `identities push` reads) to resolve groups with.
    #[arg(long, value_name = "FILE")]
    pub identities: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AccessWhatArgs {
    /// The user (as Coveo knows them, usually an email address).
    #[arg(long, value_name = "USER")]
    pub user: String,
    /// A configured folder.
    #[arg(long, value_name = "FOLDER")]
    pub folder: PathBuf,
    /// Identities file (JSON or CSV, as `identities push` reads) to resolve groups with.
    #[arg(long, value_name = "FILE")]
    pub identities: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Create a Push source and print its ID.
    Create(SourceCreateArgs),
}

#[derive(Debug, Args)]
pub struct SourceCreateArgs {
    /// Display name of the new source.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Who can see its items: secured (item permissions), shared (everyone), private.
    #[arg(long, value_enum, default_value = "secured")]
    pub visibility: Visibility,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Visibility {
    Secured,
    Shared,
    Private,
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Create a security identity provider for a source (cascading to the Email provider).
    Create(ProviderCreateArgs),
}

#[derive(Debug, Args)]
pub struct ProviderCreateArgs {
    /// ID of the new provider.
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Subcommand)]
pub enum FieldsCommand {
    /// Create the missing index fields for the metadata of item files or configured folders.
    Sync(FieldsSyncArgs),
}

#[derive(Debug, Args)]
pub struct FieldsSyncArgs {
    /// Coveo JSON item files or folders of them [default: the configuration file's metadata].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print the fields that would be created and create nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The organization this key belongs to.
    #[arg(long, value_name = "ORG")]
    pub org: String,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The organization whose key to remove.
    #[arg(long, value_name = "ORG")]
    pub org: String,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the configuration (TOML, or JSON with --json).
    Show,
    /// Check the configuration file; exit 2 with the file, line and fix if it is invalid.
    Check,
    /// Print the configuration file's path.
    Path,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write the systemd user unit and start it (enable --now), unless --no-start.
    Install(ServiceInstallArgs),
    /// Stop and disable the service and remove its unit.
    Uninstall,
    /// Whether the unit is installed, what it runs, and whether it is active.
    Status,
}

#[derive(Debug, Args)]
pub struct ServiceInstallArgs {
    /// Write the unit only; print the systemctl commands that start it.
    #[arg(long)]
    pub no_start: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write pushdeck.1 and one page per command into this folder instead of printing.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn root_help_lists_exit_codes() {
        assert!(ROOT_AFTER_HELP.ends_with(EXIT_CODES_HELP));
    }

    #[test]
    fn readme_documents_the_same_exit_codes() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("## Command line")
            .nth(1)
            .expect("README has a Command line section");
        for line in EXIT_CODES_HELP.lines().skip(1) {
            let (code, meaning) = line.trim().split_once("  ").unwrap();
            assert!(
                section.contains(&format!("| {code} | {meaning} |")),
                "README lacks exit code {code}: {meaning}"
            );
        }
    }
}
