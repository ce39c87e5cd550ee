-- The tidings schema, as an ordered list of forward migrations.
--
-- Each "-- migration: N" section moves a database from version N-1 to N
-- (PRAGMA user_version). Sections are append-only: never edit a released
-- section, add a new one. Times are Unix seconds (UTC) unless a column says
-- otherwise. Every table that can hold personal data references
-- subscribers(id) ON DELETE CASCADE, so that `sub delete` erases a person by
-- deleting one row (with secure_delete on, the bytes are zeroed too).

-- migration: 1
--
-- Ids that appear inside reader tokens (lists, topics, subscribers, issues)
-- are AUTOINCREMENT: SQLite would otherwise hand an erased subscriber's id to
-- the next person, and the old, never-expiring links in the erased person's
-- mails would open the newcomer's preferences.

-- Key/value facts about this database: the HMAC secret for reader tokens, …
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE lists (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    from_addr  TEXT NOT NULL,              -- "Name <addr@example.org>"
    lang       TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('zh', 'en')),
    tz         TEXT NOT NULL DEFAULT 'UTC', -- IANA zone
    reply_to   TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',    -- postal address for the footer
    template_dir TEXT NOT NULL DEFAULT '',  -- overrides templates/ file by file
    created_at INTEGER NOT NULL
);

CREATE TABLE topics (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id  INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    slug     TEXT NOT NULL,
    name     TEXT NOT NULL,
    keywords TEXT NOT NULL DEFAULT '',     -- comma-separated
    created_at INTEGER NOT NULL,
    UNIQUE (list_id, slug)
);

-- One person. email is what we send to (local part as given, domain
-- lower-cased A-label); email_key is the identity (all lower-case).
CREATE TABLE subscribers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT NOT NULL,
    email_key  TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- A person on one list. all_topics=1 means every topic of the list,
-- including topics added later; otherwise subscription_topics holds them.
CREATE TABLE subscriptions (
    list_id       INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bounced', 'blocked')),
    all_topics    INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (list_id, subscriber_id)
) WITHOUT ROWID;
CREATE INDEX subscriptions_by_status ON subscriptions (list_id, status, subscriber_id);
CREATE INDEX subscriptions_by_subscriber ON subscriptions (subscriber_id);

CREATE TABLE subscription_topics (
    list_id       INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    topic_id      INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, subscriber_id, topic_id),
    FOREIGN KEY (list_id, subscriber_id) REFERENCES subscriptions (list_id, subscriber_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX subscription_topics_by_topic ON subscription_topics (topic_id);

-- One numbered edition of a list.
CREATE TABLE issues (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id    INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    title      TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',   -- empty: derived from title and number
    preheader  TEXT NOT NULL DEFAULT '',
    date       TEXT NOT NULL DEFAULT '',   -- as the editor wrote it, YYYY-MM-DD when known
    masthead   TEXT NOT NULL DEFAULT '',   -- Markdown: lines under the title (publisher, edition)
    intro      TEXT NOT NULL DEFAULT '',   -- Markdown before the first article
    footer     TEXT NOT NULL DEFAULT '',   -- Markdown: the colophon
    source     TEXT NOT NULL DEFAULT '',   -- the file as imported
    status     TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'ready', 'scheduled', 'sending', 'sent')),
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    UNIQUE (list_id, number)
);

CREATE TABLE articles (
    id        INTEGER PRIMARY KEY,
    issue_id  INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,            -- 1-based order in the issue
    title     TEXT NOT NULL,
    body      TEXT NOT NULL,               -- Markdown, without the heading
    tagged_by TEXT NOT NULL DEFAULT 'keywords' CHECK (tagged_by IN ('keywords', 'attribute', 'hand')),
    UNIQUE (issue_id, position)
);

CREATE TABLE article_topics (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    topic_id   INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
    PRIMARY KEY (article_id, topic_id)
) WITHOUT ROWID;

-- One send of one issue (a campaign). The recipient set is fixed when the
-- deliveries rows are written; state moves preparing → running → done, or
-- to paused when a whole-server problem stops it.
CREATE TABLE sends (
    issue_id     INTEGER PRIMARY KEY REFERENCES issues(id) ON DELETE CASCADE,
    state        TEXT NOT NULL CHECK (state IN ('preparing', 'running', 'paused', 'done')),
    reason       TEXT NOT NULL DEFAULT '',
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER
);

-- The delivery log: one row per (issue, recipient). A worker claims a row by
-- setting lease_owner/lease_until; state 'sending' is written before DATA,
-- 'sent'/'failed'/'deferred' after the server's reply.
CREATE TABLE deliveries (
    issue_id        INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'bounced', 'complained')),
    topic_key       TEXT NOT NULL DEFAULT '', -- the recipient's topic combination
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    fail_kind       TEXT NOT NULL DEFAULT '',  -- temporary | permanent | recipient | server
    last_error      TEXT NOT NULL DEFAULT '',
    smtp_reply      TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    relay           TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    PRIMARY KEY (issue_id, subscriber_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_state ON deliveries (issue_id, state, next_attempt_at);
CREATE INDEX deliveries_by_subscriber ON deliveries (subscriber_id);

-- Bounces and complaints, from SMTP replies at send time or inbound mail.
CREATE TABLE bounces (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    list_id       INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    issue_id      INTEGER REFERENCES issues(id) ON DELETE SET NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
    code          TEXT NOT NULL DEFAULT '',  -- enhanced status code, e.g. 5.1.1
    diagnostic    TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',  -- smtp | dsn | arf | pop3 …
    at            INTEGER NOT NULL
);
CREATE INDEX bounces_by_subscriber ON bounces (subscriber_id, list_id, kind, at);
CREATE INDEX bounces_by_issue ON bounces (issue_id);

-- Schedules: a one-off (issue_id + at) or a recurring cron for a list.
CREATE TABLE schedules (
    id         INTEGER PRIMARY KEY,
    list_id    INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    issue_id   INTEGER REFERENCES issues(id) ON DELETE CASCADE,
    cron       TEXT,
    at         INTEGER,
    tz         TEXT NOT NULL,
    last_run   INTEGER,                    -- the scheduled instant last handled
    done       INTEGER NOT NULL DEFAULT 0, -- one-off: fired
    -- one-off: the issue's status before it was scheduled ('draft' or
    -- 'ready'), which `schedule rm` puts back
    prev_status TEXT NOT NULL DEFAULT 'draft',
    created_at INTEGER NOT NULL,
    CHECK ((cron IS NULL) <> (at IS NULL)),
    CHECK ((at IS NULL) OR (issue_id IS NOT NULL))
);

-- Named leases (e.g. the daemon's "sender" role): whoever holds an unexpired
-- lease owns the role; a dead holder's lease runs out and is taken over.
CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until INTEGER NOT NULL
) WITHOUT ROWID;

-- Single-use reader tokens (confirmation links) that were spent.
CREATE TABLE used_tokens (
    nonce         BLOB PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    used_at       INTEGER NOT NULL
) WITHOUT ROWID;

-- Inbound messages already processed (POP3 UIDL or Message-ID hash), so a
-- crash between processing and deletion does not process a message twice.
CREATE TABLE inbound_seen (
    key     TEXT PRIMARY KEY,
    seen_at INTEGER NOT NULL
) WITHOUT ROWID;

-- migration: 2
--
-- The console, the API, engagement tracking and per-list sending settings.
-- Until this migration is released, each concern edits only its own
-- section below.

-- section: accounts (package auth) ------------------------------------------

-- A person who signs in to the console. all_lists=1: every list, present
-- and future; otherwise user_lists holds them. A list deleted from under a
-- limited user leaves it limited (to fewer lists), never unlimited.
CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    email       TEXT NOT NULL UNIQUE,           -- lower-case
    role        TEXT NOT NULL CHECK (role IN ('admin', 'editor')),
    all_lists   INTEGER NOT NULL DEFAULT 1,
    password    TEXT NOT NULL DEFAULT '',       -- PHC argon2id string; '' = not set yet
    lang        TEXT NOT NULL DEFAULT '',       -- console language chosen; '' = the browser's
    created_at  INTEGER NOT NULL,
    last_login  INTEGER,
    password_at INTEGER                         -- when the password was last set
);

CREATE TABLE user_lists (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, list_id)
) WITHOUT ROWID;

-- Server-side sessions; the cookie holds a random id, the table its hash.
CREATE TABLE sessions (
    id_hash    BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);

-- One-time sign-in links (set a password); the link holds a random value,
-- the table its hash.
CREATE TABLE signin_links (
    hash       BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) WITHOUT ROWID;
-- A new link replaces the user's earlier ones (and a removed user's go).
CREATE INDEX signin_links_by_user ON signin_links (user_id);

-- API tokens, stored as a hash; shown once when made.
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    hash       BLOB NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'editor')),
    all_lists  INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    last_used  INTEGER
);

CREATE TABLE token_lists (
    token_id INTEGER NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
    list_id  INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, list_id)
) WITHOUT ROWID;

-- section: audit (package ops) ----------------------------------------------

-- Every change a person or token makes. No foreign keys: the record
-- outlives what it names. Never an erased reader's address: subscriber
-- changes name the subscriber by id.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_kind  TEXT NOT NULL,              -- user | token | cli | system
    actor       TEXT NOT NULL,              -- email, token name, or the OS user for the CLI
    action      TEXT NOT NULL,              -- e.g. issue.import, article.update
    object_kind TEXT NOT NULL DEFAULT '',
    object_id   TEXT NOT NULL DEFAULT '',
    list_id     INTEGER,
    detail      TEXT NOT NULL DEFAULT '',   -- JSON
    ip          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_list ON audit_log (list_id, id);

-- Background work started from the console or the API (CSV import and
-- export), with progress and a result document.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,              -- import | export
    list_id     INTEGER REFERENCES lists(id) ON DELETE CASCADE,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    dry_run     INTEGER NOT NULL DEFAULT 0,
    total       INTEGER NOT NULL DEFAULT 0, -- lines read so far (import) or rows (export)
    done        INTEGER NOT NULL DEFAULT 0,
    result      TEXT NOT NULL DEFAULT '',   -- JSON: counts and per-line errors
    output      BLOB,                       -- export: the file
    actor       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);

-- section: sending settings (package mailer) ----------------------------------

-- A list's own DKIM key: every process that sends the list's mail signs
-- with it. The PEM lives here so that a database backup restores sending;
-- it never leaves through exports, logs or the API.
ALTER TABLE lists ADD COLUMN dkim_selector TEXT NOT NULL DEFAULT '';
ALTER TABLE lists ADD COLUMN dkim_key TEXT NOT NULL DEFAULT '';

-- The settings a send goes out with (JSON: redacted relay URLs, DKIM key
-- reference, rate, concurrency; never a password or a key), recorded when
-- it starts, and their fingerprint: a process claims rows of the send only
-- while its own settings have this fingerprint, so no send is carried out
-- partly with another process's relays or key. '' = not recorded yet.
ALTER TABLE sends ADD COLUMN settings TEXT NOT NULL DEFAULT '';
ALTER TABLE sends ADD COLUMN settings_fp TEXT NOT NULL DEFAULT '';

-- section: tracking (package track) -------------------------------------------

-- Engagement tracking per list: off | aggregate | individual.
ALTER TABLE lists ADD COLUMN clicks TEXT NOT NULL DEFAULT 'aggregate' CHECK (clicks IN ('off', 'aggregate', 'individual'));
ALTER TABLE lists ADD COLUMN opens TEXT NOT NULL DEFAULT 'off' CHECK (opens IN ('off', 'aggregate', 'individual'));
ALTER TABLE lists ADD COLUMN activity_days INTEGER NOT NULL DEFAULT 180;

-- How it is stored. Every event (click, open, honeypot fetch) is classified
-- human or machine in memory, held a few minutes so a later event of the
-- same message can re-classify it, and then counted ONCE in track_counts,
-- whatever the list's mode. In `individual` mode the event is ALSO written
-- to track_events with the subscriber; those rows are deleted after the
-- list's activity_days (they are already counted, so the aggregates keep
-- them) and by `sub delete` (ON DELETE CASCADE). In `aggregate` mode no
-- row names a person: the topic set comes from the signed token.

-- The http(s) links of an issue's articles, numbered as rendering numbers
-- them; written when the issue is sent (or at its first click).
CREATE TABLE track_links (
    issue_id INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,   -- the article's position (articles.position, 1-based)
    link     INTEGER NOT NULL,   -- 1-based index of the link within the article, in document order
    url      TEXT NOT NULL,      -- the original target, as written in the Markdown
    PRIMARY KEY (issue_id, position, link)
) WITHOUT ROWID;

-- The meaning of the bits of a topic set: bit `bit` of a token's topic set
-- is topic topic_id. Snapshot of the list's topics (ordered by id, at most
-- 63, so a topic set is a non-negative INTEGER) when the issue was
-- rendered, so later topic changes do not shift it.
CREATE TABLE track_topics (
    issue_id INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    bit      INTEGER NOT NULL,   -- 0..62
    topic_id INTEGER NOT NULL,   -- topics.id (no FK: the figure outlives a deleted topic)
    PRIMARY KEY (issue_id, bit)
) WITHOUT ROWID;

-- Aggregate counters: one row per (issue, kind, article, link, topic set,
-- verdict, reason, hour). Sum over hour for totals; hour buckets give the
-- 48-hour chart. Never names a person.
CREATE TABLE track_counts (
    issue_id  INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('click', 'open')),
    position  INTEGER NOT NULL,  -- article position; 0 for opens and for the honeypot link
    link      INTEGER NOT NULL,  -- track_links.link; 0 for opens and for the honeypot link
    topic_set INTEGER NOT NULL,  -- bitmask over track_topics.bit of the reader's topics (all topics: every bit)
    verdict   TEXT NOT NULL CHECK (verdict IN ('human', 'machine')),
    reason    TEXT NOT NULL,     -- the rule that decided: '' (human, no rule), 'gmail_proxy' (human open via Gmail's proxy),
                                 -- machine: 'head', 'user_agent', 'scan_window', 'honeypot', 'burst', 'apple_proxy', 'image_proxy'
    hour      INTEGER NOT NULL,  -- start of the event's hour (Unix seconds, multiple of 3600)
    n         INTEGER NOT NULL,  -- number of events
    PRIMARY KEY (issue_id, kind, position, link, topic_set, verdict, reason, hour)
) WITHOUT ROWID;

-- Per-person events, `individual` mode only (clicks and opens each by their
-- own mode), human ones only: a machine's fetch of a person's links is not
-- their activity and is in track_counts; `sub show` lists every row.
CREATE TABLE track_events (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    issue_id      INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('click', 'open')),
    position      INTEGER NOT NULL,  -- as in track_counts
    link          INTEGER NOT NULL,  -- as in track_counts
    verdict       TEXT NOT NULL CHECK (verdict IN ('human', 'machine')),
    reason        TEXT NOT NULL,     -- as in track_counts
    at            INTEGER NOT NULL   -- when the request came (Unix seconds)
);
CREATE INDEX track_events_by_subscriber ON track_events (subscriber_id, at);
CREATE INDEX track_events_by_issue ON track_events (issue_id, kind, verdict, subscriber_id);
CREATE INDEX track_events_by_at ON track_events (at);

-- section: subscriber history (package ops) -----------------------------------

-- A person's history on a list beyond what subscriptions holds now. Status
-- changes are written by a trigger, so every path counts alike (the web
-- form, confirmation and unsubscribe links, bounces, imports, the console);
-- topic changes made through ops are written by ops. No address: the
-- person is subscriber_id, and the rows go with them when they are erased.
-- Every writer of a status stamps updated_at in the same transaction (with
-- its injected clock), so that is the time of the change.
CREATE TABLE subscription_events (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    list_id       INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL,              -- the new status, or 'topics'
    detail        TEXT NOT NULL DEFAULT ''    -- status: the status before; topics: the new choice
);
CREATE INDEX subscription_events_by_subscriber ON subscription_events (subscriber_id, at);

CREATE TRIGGER subscription_status_event AFTER UPDATE OF status ON subscriptions
WHEN old.status <> new.status
BEGIN
    INSERT INTO subscription_events (subscriber_id, list_id, at, kind, detail)
    VALUES (new.subscriber_id, new.list_id, new.updated_at, new.status, old.status);
END;

-- The console's subscriber search: names that start with what was typed,
-- in any case (addresses use the email_key index).
CREATE INDEX subscribers_by_name ON subscribers (name COLLATE NOCASE);

-- Bounces and complaints of a list, newest first, by keyset (at, id).
CREATE INDEX bounces_by_list ON bounces (list_id, at);
CREATE INDEX bounces_by_at ON bounces (at);

-- Import and export jobs run in a goroutine of the process that started
-- them; owner names that process and beat_at is its last sign of life, so
-- a job left running by a dead process is found and marked failed.
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN beat_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN format TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_by_state ON jobs (state);

-- section: send control (package ops) ----------------------------------------

-- An editor's hold on a send: "pause:WHO" (paused until resumed) or
-- "cancel:WHO" (cancelled: what was pending is skipped). The engine stops
-- claiming rows of a held send and the daemon does not start or resume
-- it; the engine's own pauses (a relay refusing) leave it empty and are
-- retried by the daemon.
ALTER TABLE sends ADD COLUMN held_by TEXT NOT NULL DEFAULT '';

-- The confirmed all-topics readers of a list, counted apart by the
-- audience of an issue without reading every subscription row.
CREATE INDEX subscriptions_all_topics ON subscriptions (list_id, status, subscriber_id) WHERE all_topics;
