#include "console/ctl/CtlOptions.h"

#include "shared/Codec.h"
#include "shared/Streams.h"

#include <QHash>
#include <QList>
#include <cmath>

namespace herald::ctl {
namespace {

const QString kDefaultServer = QStringLiteral("http://127.0.0.1:8080");

struct OptionSpec {
    const char* name;
    bool takesValue;
    QList<Command> commands; // empty: a global option, valid with every command
};

const QList<OptionSpec>& optionSpecs() {
    static const QList<OptionSpec> specs{
        {"server", true, {}},
        {"token", true, {}},
        {"timeout", true, {}},
        {"json", false, {}},
        {"help", false, {}},
        {"version", false, {}},
        {"user", true, {Command::Publish, Command::Token}},
        {"title", true, {Command::Broadcast}},
        {"level", true, {Command::Broadcast}},
        {"count", true, {Command::Tail}},
        {"jwt", true, {Command::Tail}},
        {"secret", true, {Command::Token}},
        {"ttl", true, {Command::Token, Command::Broadcast}},
        {"aud", true, {Command::Token}},
        {"iss", true, {Command::Token}},
    };
    return specs;
}

const OptionSpec* findSpec(const QString& name) {
    for (const OptionSpec& spec : optionSpecs())
        if (name == QLatin1String(spec.name))
            return &spec;
    return nullptr;
}

std::optional<Command> commandFromName(const QString& name) {
    for (Command c : {Command::Help, Command::Version, Command::Publish, Command::Broadcast,
                      Command::Stats, Command::Tail, Command::Drain, Command::Disconnect,
                      Command::Token, Command::Withdraw, Command::Sticky})
        if (commandName(c) == name)
            return c;
    return std::nullopt;
}

// How many positional arguments (after the command name) each command takes, and their names.
struct Arity {
    int count;
    const char* names;
};

Arity arityOf(Command command) {
    switch (command) {
    case Command::Publish:
        return {2, "STREAM and JSON"};
    case Command::Broadcast:
        return {1, "TEXT"};
    case Command::Tail:
        return {1, "STREAM"};
    case Command::Drain:
        return {1, "NODE"};
    case Command::Disconnect:
        return {1, "USER"};
    case Command::Withdraw:
        return {1, "ID"};
    default:
        return {0, ""};
    }
}

// A whole number in [min, max]; nullopt otherwise.
std::optional<qint64> parseWhole(const QString& text, qint64 min, qint64 max) {
    bool ok = false;
    const qint64 v = text.trimmed().toLongLong(&ok);
    if (!ok || v < min || v > max)
        return std::nullopt;
    return v;
}

} // namespace

QString commandName(Command command) {
    switch (command) {
    case Command::None:
        return {};
    case Command::Help:
        return QStringLiteral("help");
    case Command::Version:
        return QStringLiteral("version");
    case Command::Publish:
        return QStringLiteral("publish");
    case Command::Broadcast:
        return QStringLiteral("broadcast");
    case Command::Stats:
        return QStringLiteral("stats");
    case Command::Tail:
        return QStringLiteral("tail");
    case Command::Drain:
        return QStringLiteral("drain");
    case Command::Disconnect:
        return QStringLiteral("disconnect");
    case Command::Token:
        return QStringLiteral("token");
    case Command::Withdraw:
        return QStringLiteral("withdraw");
    case Command::Sticky:
        return QStringLiteral("sticky");
    }
    return {};
}

std::variant<Options, UsageError> parseOptions(const QStringList& arguments,
                                               const QProcessEnvironment& env) {
    QStringList positionals;
    QHash<QString, QString> given; // option name -> value ("" for flags); the last one wins
    QStringList givenOrder;
    bool endOfOptions = false;
    for (qsizetype i = 0; i < arguments.size(); ++i) {
        const QString& arg = arguments[i];
        if (endOfOptions || arg == QLatin1String("-") || !arg.startsWith(QLatin1Char('-'))) {
            positionals.append(arg);
            continue;
        }
        if (arg == QLatin1String("--")) {
            endOfOptions = true;
            continue;
        }
        QString name;
        QString value;
        bool inlineValue = false;
        if (arg.startsWith(QLatin1String("--"))) {
            const qsizetype eq = arg.indexOf(QLatin1Char('='));
            name = arg.mid(2, eq < 0 ? -1 : eq - 2);
            if (eq >= 0) {
                value = arg.mid(eq + 1);
                inlineValue = true;
            }
        } else if (arg == QLatin1String("-h")) {
            name = QStringLiteral("help");
        } else if (arg.size() > 1 && arg[1].isLetter()) {
            return UsageError{QStringLiteral("unknown option %1").arg(arg)};
        } else {
            positionals.append(arg); // "-5", "-1.5e3": a negative number is a JSON argument
            continue;
        }
        const OptionSpec* spec = findSpec(name);
        if (!spec)
            return UsageError{QStringLiteral("unknown option --%1").arg(name)};
        if (spec->takesValue && !inlineValue) {
            if (i + 1 >= arguments.size())
                return UsageError{QStringLiteral("option --%1 needs a value").arg(name)};
            value = arguments[++i];
        } else if (!spec->takesValue && inlineValue) {
            return UsageError{QStringLiteral("option --%1 takes no value").arg(name)};
        }
        given.insert(name, value);
        givenOrder.append(name);
    }

    Options o;
    Command command = Command::None;
    if (!positionals.isEmpty()) {
        const auto found = commandFromName(positionals.first());
        if (!found)
            return UsageError{
                QStringLiteral("unknown command \"%1\" (commands: publish, broadcast, "
                               "withdraw, sticky, stats, tail, drain, disconnect, token)")
                    .arg(positionals.first().left(80))};
        command = *found;
        positionals.removeFirst();
    }
    if (command == Command::Help) {
        o.command = Command::Help;
        if (!positionals.isEmpty()) {
            const auto topic = commandFromName(positionals.first());
            if (!topic)
                return UsageError{QStringLiteral("no help for unknown command \"%1\"")
                                      .arg(positionals.first().left(80))};
            o.helpTopic = *topic;
        }
        return o;
    }
    if (given.contains(QStringLiteral("help"))) {
        o.command = Command::Help;
        o.helpTopic = command;
        return o;
    }
    if (given.contains(QStringLiteral("version")) || command == Command::Version) {
        o.command = Command::Version;
        return o;
    }
    if (command == Command::None)
        return UsageError{QStringLiteral(
            "no command given (publish, broadcast, withdraw, sticky, stats, tail, drain, "
            "disconnect or token)")};
    o.command = command;

    for (const QString& name : givenOrder) {
        const OptionSpec* spec = findSpec(name);
        if (!spec->commands.isEmpty() && !spec->commands.contains(command))
            return UsageError{
                QStringLiteral("option --%1 does not apply to %2").arg(name, commandName(command)),
                command};
    }
    const Arity arity = arityOf(command);
    if (positionals.size() < arity.count)
        return UsageError{
            QStringLiteral("%1 needs %2").arg(commandName(command), QLatin1String(arity.names)),
            command};
    if (positionals.size() > arity.count)
        return UsageError{QStringLiteral("too many arguments for %1: \"%2\"%3")
                              .arg(commandName(command), positionals[arity.count].left(80),
                                   arity.count > 0
                                       ? QStringLiteral(" (quote arguments that contain spaces)")
                                       : QString()),
                          command};
    o.args = positionals;
    auto usage = [command](const QString& message) { return UsageError{message, command}; };

    // --server / $HERALD_URL
    QString serverText = kDefaultServer;
    QString serverSource = QStringLiteral("--server");
    if (given.contains(QStringLiteral("server"))) {
        serverText = given.value(QStringLiteral("server"));
    } else if (!env.value(QStringLiteral("HERALD_URL")).isEmpty()) {
        serverText = env.value(QStringLiteral("HERALD_URL"));
        serverSource = QStringLiteral("$HERALD_URL");
    }
    const auto server = serverurl::normalise(serverText);
    if (!server)
        return usage(QStringLiteral("%1 \"%2\" is not a server URL (e.g. http://127.0.0.1:8080)")
                         .arg(serverSource, serverText.left(200)));
    o.server = *server;

    // --token, then the environment; the commands that may use /admin prefer the admin token
    // (/admin only accepts that).
    QStringList tokenVariables{QStringLiteral("HERALD_API_TOKEN")};
    if (command == Command::Tail || command == Command::Drain || command == Command::Disconnect)
        tokenVariables.prepend(QStringLiteral("HERALD_ADMIN_TOKEN"));
    if (given.contains(QStringLiteral("token"))) {
        o.token = given.value(QStringLiteral("token")).toUtf8();
        o.tokenSource = QStringLiteral("--token");
    } else {
        for (const QString& variable : tokenVariables) {
            if (!env.value(variable).isEmpty()) {
                o.token = env.value(variable).toUtf8();
                o.tokenSource = QLatin1Char('$') + variable;
                break;
            }
        }
    }

    if (given.contains(QStringLiteral("timeout"))) {
        bool ok = false;
        const double seconds = given.value(QStringLiteral("timeout")).toDouble(&ok);
        if (!ok || !std::isfinite(seconds) || seconds <= 0 || seconds > 86400)
            return usage(QStringLiteral(
                             "--timeout needs a number of seconds between 0 and 86400, not \"%1\"")
                             .arg(given.value(QStringLiteral("timeout")).left(40)));
        o.timeoutMs = std::max(1, static_cast<int>(std::lround(seconds * 1000)));
    }
    o.json = given.contains(QStringLiteral("json"));

    o.user = given.value(QStringLiteral("user"));
    if (given.contains(QStringLiteral("user")) && !streams::isValidUserId(o.user))
        return usage(
            QStringLiteral("--user \"%1\" is not a valid user id (1-128 printable characters, "
                           "no spaces or *?[]\\)")
                .arg(o.user.left(80)));

    switch (command) {
    case Command::Publish: {
        auto resolved = streams::resolveForPublisher(o.args[0], o.user);
        if (auto* error = std::get_if<Error>(&resolved))
            return usage(error->message);
        const streams::StreamRef& ref = std::get<streams::StreamRef>(resolved);
        if (ref.kind != streams::Kind::Public && ref.kind != streams::Kind::Private)
            return usage(
                QStringLiteral("cannot publish to \"%1\"; use \"heraldctl broadcast\" for system "
                               "messages")
                    .arg(o.args[0]));
        // The server ignores "user" when the stream names its own kind ("public.x",
        // "private.u1.x"): refuse here rather than send a private message somewhere else.
        if (!o.user.isEmpty() && (ref.kind != streams::Kind::Private || ref.user != o.user))
            return usage(QStringLiteral(
                             "--user %1 conflicts with stream \"%2\" (%3); give a bare stream name "
                             "with --user")
                             .arg(o.user, o.args[0], ref.routingKey()));
        break;
    }
    case Command::Broadcast: {
        o.title = given.value(QStringLiteral("title"));
        if (o.title.trimmed().isEmpty() && o.args[0].trimmed().isEmpty())
            return usage(QStringLiteral("broadcast needs a non-empty TEXT or --title"));
        const QString level = given.value(QStringLiteral("level"), QStringLiteral("info"));
        if (!levelFromName(level, &o.level))
            return usage(QStringLiteral("--level must be info, warning or critical, not \"%1\"")
                             .arg(level.left(40)));
        if (given.contains(QStringLiteral("ttl"))) {
            const auto ttl = codec::parseTtl(given.value(QStringLiteral("ttl")));
            if (const auto* error = std::get_if<Error>(&ttl))
                return usage(QString(error->message)
                                 .replace(QLatin1String("\"ttl\""), QLatin1String("--ttl")));
            o.stickyTtlMs = std::get<qint64>(ttl);
        }
        break;
    }
    case Command::Withdraw:
        if (o.args[0].trimmed().isEmpty())
            return usage(QStringLiteral("withdraw needs the ID of a sticky notice (as \"heraldctl "
                                        "broadcast --ttl\" or \"heraldctl sticky\" print it)"));
        break;
    case Command::Tail: {
        if (o.args[0].trimmed().isEmpty())
            return usage(QStringLiteral("tail needs a non-empty STREAM"));
        if (given.contains(QStringLiteral("count"))) {
            const auto count = parseWhole(given.value(QStringLiteral("count")), 1, 1'000'000'000);
            if (!count)
                return usage(
                    QStringLiteral("--count needs a whole number of messages, at least 1"));
            o.count = static_cast<int>(*count);
        }
        if (given.contains(QStringLiteral("jwt"))) {
            o.jwt = given.value(QStringLiteral("jwt")).trimmed().toUtf8();
            if (o.jwt.isEmpty())
                return usage(
                    QStringLiteral("--jwt needs a token (make one with \"heraldctl token\")"));
        }
        break;
    }
    case Command::Drain:
        if (o.args[0].trimmed().isEmpty())
            return usage(QStringLiteral("drain needs a non-empty NODE (its id, as \"heraldctl "
                                        "stats\" shows it)"));
        break;
    case Command::Disconnect:
        if (!streams::isValidUserId(o.args[0]))
            return usage(
                QStringLiteral("\"%1\" is not a valid user id (1-128 printable characters, no "
                               "spaces or *?[]\\)")
                    .arg(o.args[0].left(80)));
        break;
    case Command::Token: {
        if (o.user.isEmpty())
            return usage(QStringLiteral("token needs --user USER (the token's \"sub\")"));
        o.secret = given.contains(QStringLiteral("secret"))
                       ? given.value(QStringLiteral("secret")).toUtf8()
                       : env.value(QStringLiteral("HERALD_JWT_SECRET")).toUtf8();
        if (o.secret.isEmpty())
            return usage(QStringLiteral("token needs --secret SECRET (or $HERALD_JWT_SECRET): the "
                                        "server's --jwt-secret"));
        if (given.contains(QStringLiteral("ttl"))) {
            const auto ttl =
                parseWhole(given.value(QStringLiteral("ttl")), 1, qint64(10) * 366 * 86400);
            if (!ttl)
                return usage(QStringLiteral("--ttl needs a whole number of seconds, at least 1"));
            o.ttlSeconds = *ttl;
        }
        o.audience = given.value(QStringLiteral("aud"));
        o.issuer = given.value(QStringLiteral("iss"));
        break;
    }
    default:
        break;
    }
    return o;
}

} // namespace herald::ctl
