#include "console/ctl/CtlOptions.h"

#include "shared/Version.h"

namespace herald::ctl {
namespace {

const char kGlobalOptions[] = R"TXT(Global options:
  --server URL       server to talk to (default $HERALD_URL or http://127.0.0.1:8080);
                     a path prefix is kept (https://example.org/herald)
  --token TOKEN      API token, sent as "Authorization: Bearer" (default $HERALD_API_TOKEN;
                     tail, drain and disconnect use $HERALD_ADMIN_TOKEN first);
                     --token "" sends none
  --timeout SECONDS  how long to wait for the server (default 10)
  --json             machine-readable output
  -h, --help         show help (heraldctl help COMMAND for one command)
  --version          show the version
)TXT";

const char kExitCodes[] = R"TXT(Exit codes:
  0  done
  1  the server refused or failed (its error code and message are printed)
  2  usage error: unknown command or option, missing or bad argument
  3  cannot reach the server (connection refused, no answer within --timeout)
)TXT";

const char kOverview[] = R"TXT(Usage: heraldctl [global options] COMMAND [arguments] [options]

Command-line client for Herald, the live-notification server.

Commands:
  publish STREAM JSON   publish JSON to a stream ("name", "public.name", "private.USER.name")
  broadcast TEXT        send a system message to every connection
  withdraw ID           withdraw a sticky system message (broadcast --ttl)
  sticky                list the active sticky system messages
  stats                 show the node's and the cluster's figures
  tail STREAM           print a stream's messages as they arrive
  drain NODE            take a node out of service; its clients move to the others
  disconnect USER       close every connection of a user, on every node
  token --user USER     mint an HS256 development token for /private
  help [COMMAND]        show help

)TXT";

const char kPublish[] = R"TXT(Usage: heraldctl publish STREAM JSON [--user USER]

Publishes JSON (any JSON value; "-" reads it from standard input) to STREAM and prints
"published ID to ROUTING-KEY" (--json: the server's answer).

STREAM is "name" or "public.name" for a public stream, "private.USER.name" for a user's
private stream, or "name" together with --user USER.

Options:
  --user USER   publish to USER's private stream STREAM

Examples:
  heraldctl publish promotional '{"text": "50% off today"}'
  heraldctl publish order '{"id": 42, "state": "shipped"}' --user u42
  echo '[1, 2, 3]' | heraldctl publish public.numbers -
)TXT";

const char kBroadcast[] =
    R"TXT(Usage: heraldctl broadcast TEXT [--title TITLE] [--level LEVEL] [--ttl DURATION]

Sends a system message (event "system") to every connection of the cluster and prints
"broadcast ID" (--json: the server's answer). TEXT is the body; it may be "" when --title
is given.

With --ttl the message is sticky: every connection opened while it is active (on any node)
also receives it, right after the server's welcome, until DURATION has passed or it is
withdrawn with "heraldctl withdraw ID". At most 20 may be active at once.

Options:
  --title TITLE     the message's title
  --level LEVEL     info (default), warning or critical
  --ttl DURATION    keep it for connections opened later: a whole number and s, m, h or d
                    (90s, 15m, 2h; 1s to 7d)

Examples:
  heraldctl broadcast "Maintenance at 22:00 UTC" --title Maintenance --level warning
  heraldctl broadcast "Maintenance at 22:00 UTC" --title Maintenance --ttl 6h
)TXT";

const char kWithdraw[] = R"TXT(Usage: heraldctl withdraw ID

Withdraws the sticky system message ID (as "heraldctl broadcast --ttl" and "heraldctl
sticky" print it) on every node: connections opened from now on do not get it, and the
open ones receive {"event":"withdrawn","id":ID} so that a page can hide it. Prints
"withdrew ID"; exits with 1 when no such message is active (not_found).

Example:
  heraldctl withdraw mwsbnwwu-n1-7
)TXT";

const char kSticky[] = R"TXT(Usage: heraldctl sticky [--json]

Lists the active sticky system messages (GET /api/broadcast), soonest to lapse first: id,
level, time left and title. --json prints the server's JSON as is.
)TXT";

const char kStats[] = R"TXT(Usage: heraldctl stats [--json]

Shows the answering node's id, state, uptime, connections, users, streams, subscriptions and
broker, and the cluster's totals (GET /api/cluster). --json prints the server's JSON as is.
)TXT";

const char kTail[] = R"TXT(Usage: heraldctl tail STREAM [--count N] [--jwt TOKEN]

Subscribes to STREAM over a WebSocket and prints each message's data as one line of compact
JSON (--json: the whole event). "subscribed to ROUTING-KEY" goes to standard error once the
server confirms the subscription. Runs until interrupted (SIGINT or SIGTERM, exit 0) or until
N messages were printed; exits with 1 when the server refuses the subscription or closes the
connection.

The endpoint depends on the credential:
  --jwt TOKEN          /private as the token's user; STREAM may be "private.NAME" (own stream)
  an admin token       /admin; any stream, "private.USER.NAME" included (--token or
                       $HERALD_ADMIN_TOKEN, else $HERALD_API_TOKEN)
  none                 /public; public streams only

STREAM "system" shows system messages (and {"withdrawn": ID} when a sticky one is withdrawn)
and "online" the node's live counts.

Options:
  --count N     exit after N messages
  --jwt TOKEN   connect to /private with this JWT (see "heraldctl token")
)TXT";

const char kDrain[] = R"TXT(Usage: heraldctl drain NODE --token ADMIN_TOKEN

Asks the cluster to drain NODE (its id, as "heraldctl stats" shows it) over the /admin
WebSocket of the server given with --server (any node of the cluster), and prints one line
once that node acknowledges the order (--json: {"command", "node", "via"}). The drained node
then answers /readyz with 503, refuses new WebSockets and closes its clients (close code
1012, "reconnect elsewhere") evenly over its drain_period. It stays up with no clients until
it is stopped. Exits with 1 when the token is refused or NODE is not a live node.

Needs an admin token: --token, else $HERALD_ADMIN_TOKEN (else $HERALD_API_TOKEN).

Example:
  heraldctl --server http://n1.internal:8080 drain n3
)TXT";

const char kDisconnect[] = R"TXT(Usage: heraldctl disconnect USER --token ADMIN_TOKEN

Asks every node of the cluster to close the connections of USER (close code 4003) over the
/admin WebSocket, and prints one line once the node acknowledges the order (--json:
{"command", "user", "via"}). Close code 4003 tells clients not to reconnect at once; to
keep the user out, also stop issuing them tokens.

Needs an admin token: --token, else $HERALD_ADMIN_TOKEN (else $HERALD_API_TOKEN).

Example:
  heraldctl disconnect u42
)TXT";

const char kToken[] =
    R"TXT(Usage: heraldctl token --user USER [--secret SECRET] [--ttl SECONDS] [--aud AUD] [--iss ISS]

Prints an HS256 JWT for development and tests: {"sub": USER, "iat": now, "exp": now + ttl}.
Works offline. --json prints {"token", "sub", "iat", "exp"}.

Options:
  --user USER       the token's subject (the user id on /private)
  --secret SECRET   the server's --jwt-secret (default $HERALD_JWT_SECRET)
  --ttl SECONDS     lifetime (default 3600)
  --aud AUD         "aud" claim (when the server requires --jwt-audience)
  --iss ISS         "iss" claim (when the server requires --jwt-issuer)

Example:
  heraldctl tail private.order --jwt "$(heraldctl token --user u42 --secret dev-secret)"
)TXT";

} // namespace

QString helpText(Command command) {
    const char* body = kOverview;
    switch (command) {
    case Command::Publish:
        body = kPublish;
        break;
    case Command::Broadcast:
        body = kBroadcast;
        break;
    case Command::Stats:
        body = kStats;
        break;
    case Command::Tail:
        body = kTail;
        break;
    case Command::Drain:
        body = kDrain;
        break;
    case Command::Disconnect:
        body = kDisconnect;
        break;
    case Command::Token:
        body = kToken;
        break;
    case Command::Withdraw:
        body = kWithdraw;
        break;
    case Command::Sticky:
        body = kSticky;
        break;
    default:
        break;
    }
    QString text = QString::fromUtf8(body);
    if (body != kOverview)
        text += QLatin1Char('\n');
    text += QString::fromUtf8(kGlobalOptions) + QLatin1Char('\n') + QString::fromUtf8(kExitCodes);
    if (body == kOverview)
        text += QStringLiteral("\nheraldctl %1, protocol %2\n")
                    .arg(QLatin1String(kVersion))
                    .arg(kProtocolVersion);
    return text;
}

} // namespace herald::ctl
