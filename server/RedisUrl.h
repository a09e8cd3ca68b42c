#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <variant>

namespace herald {

// Where Redis is and how to reach it:
//   redis://[[user]:password@]host[:port][/db]
//   rediss://[[user]:password@]host[:port][/db][?ca=FILE&cert=FILE&key=FILE&verify=none]
// IPv6 hosts in brackets. User and password may be percent-encoded ("redis://secret@host" means
// password "secret", as with redis-cli); option values are percent-decoded, so a '@' or '&' in a
// path is written %40 / %26. rediss:// is TLS: the server's certificate is checked against `ca`
// (the system's CAs without it) and the host name; `cert` + `key` send a client certificate
// (Redis's tls-auth-clients); `verify=none` turns every check off and is logged loudly.
//   redis-sentinel://[[user]:password@]host1[:port1][,host2[:port2]...][/db]?master=NAME
//                    [&sentinel_user=USER][&sentinel_password=PASSWORD]
// asks those Sentinels (port 26379 by default) where master NAME is and follows its failovers;
// the user info and db are the master's, sentinel_user/sentinel_password the Sentinels' own.
struct RedisUrl {
    struct Sentinel {
        QString host;
        quint16 port = 26379;
    };

    QString host;
    quint16 port = 6379;
    QByteArray password;
    QByteArray username;
    int db = 0;

    bool tls = false;
    QString caFile;   // PEM CA certificate(s); empty: the system's
    QString certFile; // PEM client certificate (chain), with keyFile
    QString keyFile;  // PEM private key, unencrypted
    bool verifyPeer = true;

    // Sentinel mode: host/port above are then the master's current address, empty until a
    // Sentinel named it (RedisConnection fills them in at each attempt).
    QList<Sentinel> sentinels;
    QString masterName;
    QByteArray sentinelUsername;
    QByteArray sentinelPassword;
    bool isSentinel() const { return !sentinels.isEmpty(); }

    static std::variant<RedisUrl, QString> parse(const QString& url);
    // The URL with the password replaced by "***": safe for logs and status pages.
    QString redacted() const;
    // "host:port" ("[::1]:6379" for IPv6), plus "/db" when db != 0. In sentinel mode before the
    // master is known: "master NAME".
    QString endpoint() const;
    // "h1:26379,h2:26379": the Sentinels, for messages.
    QString sentinelList() const;
};

} // namespace herald
