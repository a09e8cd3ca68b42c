#pragma once

#include <QList>
#include <QProcess>
#include <QTemporaryDir>
#include <memory>

namespace herald::test {

// A real nginx in the foreground, in a private temporary prefix, proxying a free loopback port to
// the given Herald nodes with the WebSocket settings of packaging/nginx/herald.conf.
class NginxProcess {
public:
    explicit NginxProcess(QList<quint16> upstreamPorts);
    ~NginxProcess();

    bool start(QString* error, int timeoutMs = 20000);
    void stop();
    quint16 port() const { return port_; }
    QByteArray errorLog() const; // nginx's error.log so far, for failure messages

private:
    QList<quint16> upstreams_;
    QTemporaryDir dir_;
    std::unique_ptr<QProcess> process_;
    quint16 port_ = 0;
};

// A port that was free a moment ago on 127.0.0.1 (for peers that cannot bind port 0 themselves).
quint16 freeLoopbackPort();

} // namespace herald::test
