#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QTcpSocket>
#include <memory>
#include <optional>

// A WebSocket client written from the bytes up, for tests that must send what a well-behaved
// library never would (unmasked frames, broken handshakes, frames glued to the handshake) and
// for floods of refusals. Reads server frames itself, so it checks our encoder independently.
namespace herald::test::raw {

QByteArray upgradeRequest(const QByteArray& pathAndQuery, const QByteArray& extraHeaders = {},
                          const QByteArray& key = "dGhlIHNhbXBsZSBub25jZQ==");
// A client frame: masked unless told otherwise.
QByteArray clientFrame(int opcode, const QByteArray& payload, bool fin = true, bool masked = true);

struct ServerFrame {
    int opcode = 0;
    bool fin = true;
    QByteArray payload;
    int closeCode() const; // for a close frame: its status code, 1005 when none
};
// Takes every complete frame off the front of `buffer`.
QList<ServerFrame> takeFrames(QByteArray& buffer);

// One connection driven with deadlines (runs a local event loop while waiting).
class Connection {
public:
    explicit Connection(quint16 port, const QHostAddress& from = QHostAddress::LocalHost);
    bool isConnected() const;
    void write(const QByteArray& bytes);
    // Reads until the HTTP response head is complete; returns its status (0: none).
    int readResponseHead(int timeoutMs = 10000);
    QByteArray responseHead() const { return head_; }
    QByteArray responseBody(int timeoutMs = 5000); // after readResponseHead, until the close
    // The next server frame, or nullopt at the deadline / when the connection closed.
    std::optional<ServerFrame> nextFrame(int timeoutMs = 10000);
    // Skips frames until a close frame; its code, or -1 if none came.
    int waitForClose(int timeoutMs = 10000);
    bool waitForDisconnected(int timeoutMs = 10000);

private:
    bool readMore(int timeoutMs);
    std::unique_ptr<QTcpSocket> socket_;
    QByteArray buffer_;
    QList<ServerFrame> frames_; // decoded, not yet taken
    QByteArray head_;
};

// Opens `count` connections (`parallel` at a time, from 127.0.0.1..127.0.0.8 so ports do not
// run out), each sending `request` and expecting a 101, an error event and a close frame with
// `closeCode`. Returns how many went exactly so; `problem` gets the first that did not.
int refuseMany(quint16 port, const QByteArray& request, int count, int closeCode, QString* problem,
               int parallel = 32, int timeoutMs = 120000);

} // namespace herald::test::raw
