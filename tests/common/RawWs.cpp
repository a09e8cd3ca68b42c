#include "tests/common/RawWs.h"

#include <QDeadlineTimer>
#include <QEventLoop>
#include <QRandomGenerator>
#include <QTimer>
#include <list>

namespace herald::test::raw {

QByteArray upgradeRequest(const QByteArray& pathAndQuery, const QByteArray& extraHeaders,
                          const QByteArray& key) {
    QByteArray r = "GET " + pathAndQuery +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
    if (!key.isEmpty())
        r += "Sec-WebSocket-Key: " + key + "\r\n";
    return r + extraHeaders + "\r\n";
}

QByteArray clientFrame(int opcode, const QByteArray& payload, bool fin, bool masked) {
    QByteArray out;
    out.append(char((fin ? 0x80 : 0) | opcode));
    const char maskBit = masked ? char(0x80) : char(0);
    const qsizetype n = payload.size();
    if (n < 126) {
        out.append(char(maskBit | n));
    } else if (n <= 0xFFFF) {
        out.append(char(maskBit | 126));
        out.append(char(n >> 8));
        out.append(char(n & 0xFF));
    } else {
        out.append(char(maskBit | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.append(char((quint64(n) >> shift) & 0xFF));
    }
    if (!masked)
        return out + payload;
    const quint32 key = QRandomGenerator::global()->generate();
    const char mask[4] = {char(key >> 24), char(key >> 16), char(key >> 8), char(key)};
    out.append(mask, 4);
    for (qsizetype i = 0; i < n; ++i)
        out.append(char(payload[i] ^ mask[i & 3]));
    return out;
}

int ServerFrame::closeCode() const {
    if (payload.size() < 2)
        return 1005;
    return (quint8(payload[0]) << 8) | quint8(payload[1]);
}

QList<ServerFrame> takeFrames(QByteArray& buffer) {
    QList<ServerFrame> frames;
    for (;;) {
        if (buffer.size() < 2)
            return frames;
        const quint8 b0 = quint8(buffer[0]);
        const quint8 b1 = quint8(buffer[1]);
        quint64 len = b1 & 0x7F;
        int header = 2;
        if (len == 126) {
            if (buffer.size() < 4)
                return frames;
            len = (quint64(quint8(buffer[2])) << 8) | quint8(buffer[3]);
            header = 4;
        } else if (len == 127) {
            if (buffer.size() < 10)
                return frames;
            len = 0;
            for (int i = 0; i < 8; ++i)
                len = (len << 8) | quint8(buffer[2 + i]);
            header = 10;
        }
        if (b1 & 0x80)
            header += 4; // a server must not mask, but do not lose sync if it does
        if (quint64(buffer.size()) < header + len)
            return frames;
        frames.append({b0 & 0x0F, (b0 & 0x80) != 0, buffer.mid(header, qsizetype(len))});
        buffer.remove(0, header + qsizetype(len));
    }
}

Connection::Connection(quint16 port, const QHostAddress& from)
    : socket_(std::make_unique<QTcpSocket>()) {
    socket_->bind(from, 0);
    socket_->connectToHost(QHostAddress::LocalHost, port);
    socket_->waitForConnected(10000);
}

bool Connection::isConnected() const {
    return socket_->state() == QAbstractSocket::ConnectedState;
}

void Connection::write(const QByteArray& bytes) {
    socket_->write(bytes);
    socket_->flush();
}

bool Connection::readMore(int timeoutMs) {
    if (socket_->bytesAvailable() == 0 && !socket_->waitForReadyRead(timeoutMs))
        return false;
    buffer_ += socket_->readAll();
    return true;
}

int Connection::readResponseHead(int timeoutMs) {
    QDeadlineTimer deadline(timeoutMs);
    while (!buffer_.contains("\r\n\r\n")) {
        if (deadline.hasExpired() || !readMore(int(deadline.remainingTime())))
            return 0;
    }
    const qsizetype end = buffer_.indexOf("\r\n\r\n") + 4;
    head_ = buffer_.left(end);
    buffer_.remove(0, end);
    const QList<QByteArray> statusLine = head_.left(head_.indexOf("\r\n")).split(' ');
    return statusLine.size() >= 2 ? statusLine[1].toInt() : 0;
}

QByteArray Connection::responseBody(int timeoutMs) {
    waitForDisconnected(timeoutMs);
    buffer_ += socket_->readAll();
    return std::exchange(buffer_, {});
}

std::optional<ServerFrame> Connection::nextFrame(int timeoutMs) {
    QDeadlineTimer deadline(timeoutMs);
    for (;;) {
        frames_ += takeFrames(buffer_);
        if (!frames_.isEmpty())
            return frames_.takeFirst();
        if (deadline.hasExpired() || !readMore(int(std::max<qint64>(1, deadline.remainingTime()))))
            return std::nullopt;
    }
}

int Connection::waitForClose(int timeoutMs) {
    QDeadlineTimer deadline(timeoutMs);
    while (auto frame = nextFrame(int(std::max<qint64>(1, deadline.remainingTime()))))
        if (frame->opcode == 0x8)
            return frame->closeCode();
    return -1;
}

bool Connection::waitForDisconnected(int timeoutMs) {
    if (socket_->state() == QAbstractSocket::UnconnectedState)
        return true;
    QDeadlineTimer deadline(timeoutMs);
    while (socket_->state() != QAbstractSocket::UnconnectedState && !deadline.hasExpired()) {
        if (socket_->waitForReadyRead(int(std::max<qint64>(1, deadline.remainingTime()))))
            buffer_ += socket_->readAll();
    }
    return socket_->state() == QAbstractSocket::UnconnectedState;
}

int refuseMany(quint16 port, const QByteArray& request, int count, int closeCode, QString* problem,
               int parallel, int timeoutMs) {
    QEventLoop loop;
    int started = 0;
    int finished = 0;
    int good = 0;
    // What each connection received; outlives its socket, whether it ended in time or not.
    std::list<QByteArray> receivedBy;
    std::function<void()> startOne = [&] {
        if (started >= count)
            return;
        const int index = started++;
        auto* socket = new QTcpSocket(&loop);
        QByteArray* received = &receivedBy.emplace_back();
        socket->bind(QHostAddress(QStringLiteral("127.0.0.%1").arg(1 + index % 8)), 0);
        QObject::connect(socket, &QTcpSocket::connected, socket,
                         [socket, &request] { socket->write(request); });
        QObject::connect(socket, &QTcpSocket::readyRead, socket,
                         [socket, received] { *received += socket->readAll(); });
        auto done = [&, socket, received] {
            *received += socket->readAll();
            bool ok = received->startsWith("HTTP/1.1 101 ");
            QByteArray frames = received->mid(received->indexOf("\r\n\r\n") + 4);
            const QList<ServerFrame> list = takeFrames(frames);
            ok = ok && list.size() == 2 && list[0].opcode == 0x1 &&
                 list[0].payload.contains("\"error\"") && list[1].opcode == 0x8 &&
                 list[1].closeCode() == closeCode;
            if (ok)
                ++good;
            else if (problem && problem->isEmpty())
                *problem = QStringLiteral("connection %1 got: %2")
                               .arg(index)
                               .arg(QString::fromLatin1(
                                   received->left(300).toPercentEncoding(" :/{}\",")));
            received->clear();
            socket->deleteLater();
            ++finished;
            if (finished == count)
                loop.quit();
            else
                startOne();
        };
        // Unconnected covers both ends: closed after a refusal, or never connected at all.
        QObject::connect(socket, &QTcpSocket::stateChanged, socket,
                         [socket, done](QAbstractSocket::SocketState state) {
                             if (state == QAbstractSocket::UnconnectedState &&
                                 !socket->property("done").toBool()) {
                                 socket->setProperty("done", true);
                                 done();
                             }
                         });
        // A refusal ends with the server's FIN; answer it so our side closes too.
        QObject::connect(socket, &QTcpSocket::readChannelFinished, socket,
                         [socket] { socket->disconnectFromHost(); });
        socket->connectToHost(QHostAddress::LocalHost, port);
    };
    for (int i = 0; i < parallel; ++i)
        startOne();
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    if (count > 0)
        loop.exec();
    // The sockets die with `loop`, after startOne and receivedBy: none may call back into them.
    for (QTcpSocket* s : loop.findChildren<QTcpSocket*>())
        s->disconnect();
    if (finished < count && problem && problem->isEmpty())
        *problem =
            QStringLiteral("only %1 of %2 connections finished in time").arg(finished).arg(count);
    return good;
}

} // namespace herald::test::raw
