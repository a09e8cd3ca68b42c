#pragma once

#include "shared/Errors.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QHash>
#include <QHostAddress>
#include <QUrlQuery>
#include <http_parser.h>

namespace herald {

// The credential of an "Authorization: Bearer <token>" header value, empty for other schemes.
QByteArray bearerCredential(const QByteArray& authorization);

struct HttpRequest {
    QByteArray method;
    QString path;
    QUrlQuery query;
    QHash<QByteArray, QByteArray> headers; // names in lower case
    QByteArray body;
    QHostAddress peer;
    int httpMajor = 1;
    int httpMinor = 1;
    bool upgrade = false; // asks to become a WebSocket

    QByteArray header(const QByteArray& lowerName) const { return headers.value(lowerName); }
    // The credential of "Authorization: Bearer <token>", empty when absent.
    QByteArray bearerToken() const;
};

// HTTP/1.1 requests from bytes, apart from any socket (Debian's libhttp-parser underneath):
// one request at a time, with limits on the head and the body. A request that asks for an
// upgrade ends the HTTP part of the stream: what follows it belongs to the new protocol.
class HttpRequestParser {
public:
    struct Limits {
        qint64 maxHeadBytes;
        qint64 maxBodyBytes;
    };
    struct Result {
        enum class Kind { NeedMore, Request, Upgrade, Error };
        Kind kind = Kind::NeedMore;
        qsizetype consumed = 0; // bytes of the input used; the rest is for the next call
        HttpRequest request;    // Request, Upgrade
        int status = 0;         // Error: the HTTP status to answer with
        Error error;            // Error
    };

    HttpRequestParser(Limits limits, QHostAddress peer);
    HttpRequestParser(const HttpRequestParser&) = delete;
    HttpRequestParser& operator=(const HttpRequestParser&) = delete;

    // Parses until one request is complete, an error, or the input runs out. After an Error
    // (or an Upgrade) the parser is done: the connection answers and closes (or changes
    // protocol).
    Result parse(QByteArrayView data);
    // Part of a request has been read (a timeout then means 408, not an idle close).
    bool inRequest() const { return headBytes_ > 0 || !current_.body.isEmpty(); }
    // Whether the connection may stay open after answering the last complete request.
    bool keepAlive() const { return keepAlive_; }

private:
    static int onUrl(http_parser* p, const char* at, size_t length);
    static int onHeaderField(http_parser* p, const char* at, size_t length);
    static int onHeaderValue(http_parser* p, const char* at, size_t length);
    static int onHeadersComplete(http_parser* p);
    static int onBody(http_parser* p, const char* at, size_t length);
    static int onMessageComplete(http_parser* p);
    int countHead(size_t length);

    Limits limits_;
    QHostAddress peer_;
    http_parser parser_;
    http_parser_settings settings_;
    HttpRequest current_;
    QByteArray url_;
    QByteArray field_;
    QByteArray value_;
    bool lastWasValue_ = false;
    qint64 headBytes_ = 0;
    bool keepAlive_ = true;
    bool complete_ = false;
    int errorStatus_ = 0;
    Error error_;
};

} // namespace herald
