#pragma once

#include <QList>
#include <QObject>
#include <QPair>
#include <QString>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>
#include <memory>

namespace herald::test {

// A client that behaves as herald.js does: subscribes to one stream, remembers the last id it
// received (or the position the answer gave), and after any disconnect reconnects (after a short
// jittered delay) and resumes with `since`. It records everything, duplicates and disorder
// included, so a test can judge what the server did; it hides nothing.
class ResumingClient : public QObject {
    Q_OBJECT
public:
    ResumingClient(QUrl url, QString stream, QObject* parent = nullptr);
    ~ResumingClient() override;

    void start();
    void stop();

    const QString& routingKey() const { return key_; }
    // (id, data) of every message of the stream received, in arrival order.
    const QList<QPair<QString, int>>& received() const { return received_; }
    bool subscribedOnce() const { return subscriptions_ > 0; }
    int subscriptions() const { return subscriptions_; }
    int unrecovered() const { return unrecovered_; } // answers with recovered:false
    int errors() const { return errors_; }
    const QString& node() const { return node_; } // of the current (or last) connection
    QAbstractSocket::SocketState socketState() const;
    int attempts() const { return attempts_; }

private:
    void connectNow();
    void onText(const QString& text);
    void lose(); // the connection is gone (or never came): try again soon

    QUrl url_;
    QString stream_;
    QString key_;
    std::unique_ptr<QWebSocket> socket_;
    QTimer retry_;
    QTimer watchdog_;    // an attempt not answered in time
    QString resumeFrom_; // last id received, or the position of the last answer
    bool haveResumePoint_ = false;
    bool running_ = false;
    QList<QPair<QString, int>> received_;
    int subscriptions_ = 0;
    int unrecovered_ = 0;
    int errors_ = 0;
    QString node_;
    int attempts_ = 0;
};

} // namespace herald::test
