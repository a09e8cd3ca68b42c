#pragma once

#include "shared/ServerUrl.h"

#include "shared/Messages.h"

#include <QByteArray>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QUrl>
#include <optional>
#include <variant>

// Command line of heraldctl: the commands, their options, defaults from the environment and the
// help text. Parsing is pure (no I/O) so every rule can be checked without a server.
namespace herald::ctl {

// Process exit codes; scripts rely on them.
enum ExitCode : int {
    kExitOk = 0,          // done
    kExitRefused = 1,     // the server answered with an error (or closed the tail)
    kExitUsage = 2,       // unknown command or option, missing or bad argument
    kExitUnreachable = 3, // no connection to the server, or no answer in time
};

enum class Command {
    None,
    Help,
    Version,
    Publish,
    Broadcast,
    Stats,
    Tail,
    Drain,
    Disconnect,
    Token,
    Withdraw,
    Sticky
};

QString commandName(Command command);

struct Options {
    Command command = Command::None;
    Command helpTopic = Command::None; // with Command::Help: which command (None = overview)
    QStringList args;                  // positional arguments after the command name

    // Global options.
    QUrl server;         // normalised base URL (http or https), path without a trailing '/'
    QByteArray token;    // API or admin token; empty: none
    QString tokenSource; // where the token came from ("--token", "$HERALD_API_TOKEN", ...)
    int timeoutMs = 10'000;
    bool json = false;

    // publish
    QString user;
    // broadcast
    QString title;
    Level level = Level::Info;
    qint64 stickyTtlMs = 0; // --ttl: a sticky notice for new connections too
    // tail
    int count = 0; // 0: until interrupted
    QByteArray jwt;
    // token
    QByteArray secret;
    qint64 ttlSeconds = 3600;
    QString audience;
    QString issuer;
};

struct UsageError {
    QString message;
    Command command = Command::None; // for the hint: "heraldctl <command> --help"
};

// Parses the arguments after the program name. `env` supplies HERALD_URL, HERALD_API_TOKEN,
// HERALD_ADMIN_TOKEN (tail, drain and
// disconnect) and HERALD_JWT_SECRET (token only).
std::variant<Options, UsageError> parseOptions(const QStringList& arguments,
                                               const QProcessEnvironment& env);

// The overview (Command::None) or one command's help, ending with a newline.
QString helpText(Command command);

} // namespace herald::ctl
