"""Tables of the attacker read models: profiles with behaviour, bounty vault, commands."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

ATTACKER_NAMESPACE = uuid5(NAMESPACE_URL, "https://decnet-es/attackers")

# What a `/bounty` search looks in: the payload's text, the attacker, the decky and the service,
# joined by a separator no search word holds (a word with one takes the column-by-column path).
# `BOUNTY_SEARCHED ILIKE '%w%'` is then exactly "one of the four contains w", and one trigram
# index serves it.
SEARCH_SEPARATOR = "\x1f"
BOUNTY_SEARCHED = (
    "payload_text || E'\\x1f' || coalesce(attacker_ip, '') || E'\\x1f' || decky"
    " || E'\\x1f' || service"
)


@lru_cache(maxsize=65_536)
def attacker_uuid(ip: str) -> UUID:
    """Derived from the IP, so it survives rebuilds (cached: a batch repeats its attackers)."""
    return uuid5(ATTACKER_NAMESPACE, ip)


@dataclass(frozen=True, slots=True)
class AttackerTables:
    """The attacker models' tables in one schema."""

    schema: str

    @property
    def attackers(self) -> str:
        return f"{self.schema}.attackers"

    @property
    def bounty(self) -> str:
        return f"{self.schema}.bounty"

    @property
    def commands(self) -> str:
        return f"{self.schema}.attacker_commands"

    @property
    def command_counts(self) -> str:
        """Commands per (attacker, service), committed with them: the exact total of
        `/attackers/{uuid}/commands` without counting its rows (ADR 0026)."""
        return f"{self.schema}.attacker_command_counts"

    @property
    def bounty_counts(self) -> str:
        """Bounty rows per type, committed with them: the exact total of `/bounty`."""
        return f"{self.schema}.bounty_counts"

    @property
    def counters(self) -> str:
        return f"{self.schema}.attacker_counters"

    @property
    def purges(self) -> str:
        return f"{self.schema}.attacker_purges"

    def all(self) -> tuple[str, ...]:
        """Every table of the model."""
        return (*self.counted(), self.counters, self.purges)

    def counted(self) -> tuple[str, ...]:
        """The rows and their counts: what a purge empties (with the counters)."""
        return (self.attackers, self.bounty, self.commands, self.command_counts, self.bounty_counts)

    def bounty_trigram_index(self) -> str:
        """The trigram index of `BOUNTY_SEARCHED` (needs pg_trgm): a `/bounty` search of three
        characters or more reads the rows that can match, not the whole vault."""
        return (
            f"CREATE INDEX IF NOT EXISTS bounty_searched_trgm ON {self.bounty}"
            f" USING gin (({BOUNTY_SEARCHED}) gin_trgm_ops)"
        )

    def statements(self) -> tuple[str, ...]:
        """DDL creating every table and index (idempotent)."""
        attackers, bounty, commands = self.attackers, self.bounty, self.commands
        return (
            f"CREATE TABLE IF NOT EXISTS {attackers} (uuid uuid PRIMARY KEY,"
            " ip text NOT NULL UNIQUE, first_seen timestamptz NOT NULL,"
            " last_seen timestamptz NOT NULL, event_count bigint NOT NULL,"
            " services text[] NOT NULL, deckies text[] NOT NULL, service_count int NOT NULL,"
            " decky_count int NOT NULL, is_traversal boolean NOT NULL,"
            " bounty_count bigint NOT NULL, credential_count bigint NOT NULL,"
            " command_count bigint NOT NULL, behavior json NOT NULL, state jsonb NOT NULL,"
            " updated_at timestamptz NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS attackers_recent ON {attackers} (last_seen DESC, uuid)",
            f"CREATE INDEX IF NOT EXISTS attackers_active ON {attackers} (event_count DESC, uuid)",
            f"CREATE INDEX IF NOT EXISTS attackers_traversals ON {attackers}"
            " (is_traversal DESC, decky_count DESC, last_seen DESC, uuid)",
            f"CREATE INDEX IF NOT EXISTS attackers_services ON {attackers} USING gin (services)",
            f"CREATE TABLE IF NOT EXISTS {bounty} (id bigint PRIMARY KEY,"
            " dedup text NOT NULL UNIQUE, ts timestamptz NOT NULL, decky text NOT NULL,"
            " service text NOT NULL, attacker_ip text, bounty_type text NOT NULL,"
            " payload json NOT NULL, payload_text text NOT NULL, row_json text NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS bounty_type_id ON {bounty}"
            " (bounty_type, ts DESC, id DESC)",
            f"CREATE INDEX IF NOT EXISTS bounty_ts_id ON {bounty} (ts DESC, id DESC)",
            # An attacker row embeds its newest fingerprints: one index range per attacker.
            f"CREATE INDEX IF NOT EXISTS bounty_attacker_fingerprints ON {bounty}"
            " (attacker_ip, ts DESC, id DESC) WHERE bounty_type = 'fingerprint'",
            f"CREATE TABLE IF NOT EXISTS {commands} (id bigint PRIMARY KEY,"
            " attacker uuid NOT NULL, ts timestamptz NOT NULL, decky text NOT NULL,"
            " service text NOT NULL, command text NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS commands_attacker ON {commands} (attacker, ts, id)",
            f"CREATE TABLE IF NOT EXISTS {self.counters}"
            " (name text PRIMARY KEY, value bigint NOT NULL)",
            f"INSERT INTO {self.counters} VALUES ('unique_attackers', 0), ('bounties', 0)"
            " ON CONFLICT DO NOTHING",
            f"CREATE TABLE IF NOT EXISTS {self.purges}"
            " (position bigint PRIMARY KEY, bounties bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.command_counts} (attacker uuid NOT NULL,"
            " service text NOT NULL, count bigint NOT NULL, PRIMARY KEY (attacker, service))",
            f"CREATE TABLE IF NOT EXISTS {self.bounty_counts}"
            " (bounty_type text PRIMARY KEY, count bigint NOT NULL)",
        )
