#include "server/HttpRequestParser.h"

#include <QUrl>
#include <climits>

namespace herald {
namespace {

HttpRequestParser* self(http_parser* p) {
    return static_cast<HttpRequestParser*>(p->data);
}

} // namespace

QByteArray bearerCredential(const QByteArray& authorization) {
    const QByteArray value = authorization.trimmed();
    if (value.size() > 7 && value.left(7).toLower() == "bearer ")
        return value.mid(7).trimmed();
    return {};
}

QByteArray HttpRequest::bearerToken() const {
    return bearerCredential(header("authorization"));
}

HttpRequestParser::HttpRequestParser(Limits limits, QHostAddress peer)
    : limits_(limits)
    , peer_(std::move(peer)) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
    http_parser_settings_init(&settings_);
    settings_.on_url = &HttpRequestParser::onUrl;
    settings_.on_header_field = &HttpRequestParser::onHeaderField;
    settings_.on_header_value = &HttpRequestParser::onHeaderValue;
    settings_.on_headers_complete = &HttpRequestParser::onHeadersComplete;
    settings_.on_body = &HttpRequestParser::onBody;
    settings_.on_message_complete = &HttpRequestParser::onMessageComplete;
    current_.peer = peer_;
}

HttpRequestParser::Result HttpRequestParser::parse(QByteArrayView data) {
    Result result;
    if (errorStatus_ != 0 || data.isEmpty())
        return result;
    if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED)
        http_parser_pause(&parser_, 0);
    const size_t parsed =
        http_parser_execute(&parser_, &settings_, data.data(), static_cast<size_t>(data.size()));
    result.consumed = static_cast<qsizetype>(std::min<size_t>(parsed, size_t(data.size())));
    const http_errno err = HTTP_PARSER_ERRNO(&parser_);
    if (errorStatus_ == 0 && err != HPE_OK && err != HPE_PAUSED) {
        errorStatus_ = 400;
        error_ = {ErrorCode::BadRequest, QStringLiteral("malformed HTTP request: %1")
                                             .arg(QLatin1String(http_errno_description(err)))};
    }
    if (errorStatus_ != 0) {
        result.kind = Result::Kind::Error;
        result.status = errorStatus_;
        result.error = error_;
        return result;
    }
    if (complete_) {
        complete_ = false;
        result.kind = current_.upgrade ? Result::Kind::Upgrade : Result::Kind::Request;
        result.request = std::move(current_);
        current_ = HttpRequest{};
        current_.peer = peer_;
        url_.clear();
        headBytes_ = 0;
    }
    return result;
}

int HttpRequestParser::countHead(size_t length) {
    headBytes_ += static_cast<qint64>(length);
    if (headBytes_ <= limits_.maxHeadBytes)
        return 0;
    errorStatus_ = 431;
    error_ = {ErrorCode::TooLarge,
              QStringLiteral("request head over %1 bytes").arg(limits_.maxHeadBytes)};
    return 1;
}

int HttpRequestParser::onUrl(http_parser* p, const char* at, size_t length) {
    HttpRequestParser* c = self(p);
    c->url_.append(at, static_cast<qsizetype>(length));
    return c->countHead(length);
}

int HttpRequestParser::onHeaderField(http_parser* p, const char* at, size_t length) {
    HttpRequestParser* c = self(p);
    if (c->lastWasValue_) {
        c->current_.headers.insert(c->field_.toLower(), c->value_.trimmed());
        c->field_.clear();
        c->value_.clear();
    }
    c->lastWasValue_ = false;
    c->field_.append(at, static_cast<qsizetype>(length));
    return c->countHead(length);
}

int HttpRequestParser::onHeaderValue(http_parser* p, const char* at, size_t length) {
    HttpRequestParser* c = self(p);
    c->lastWasValue_ = true;
    c->value_.append(at, static_cast<qsizetype>(length));
    return c->countHead(length);
}

int HttpRequestParser::onHeadersComplete(http_parser* p) {
    HttpRequestParser* c = self(p);
    if (!c->field_.isEmpty())
        c->current_.headers.insert(c->field_.toLower(), c->value_.trimmed());
    c->field_.clear();
    c->value_.clear();
    c->lastWasValue_ = false;
    const QUrl url = QUrl::fromEncoded("http://h" + c->url_);
    c->current_.method = http_method_str(static_cast<http_method>(p->method));
    c->current_.path = url.path();
    c->current_.query = QUrlQuery(url);
    c->current_.upgrade = p->upgrade != 0;
    c->current_.httpMajor = p->http_major;
    c->current_.httpMinor = p->http_minor;
    // An answer to a failed upgrade closes the connection: what follows may be frames.
    c->keepAlive_ = !c->current_.upgrade && http_should_keep_alive(p) != 0;
    if (p->content_length != ULLONG_MAX &&
        p->content_length > static_cast<quint64>(c->limits_.maxBodyBytes)) {
        c->errorStatus_ = 413;
        c->error_ = {ErrorCode::TooLarge,
                     QStringLiteral("request body over %1 bytes").arg(c->limits_.maxBodyBytes)};
        return -1; // 1 and 2 mean "no body" to http_parser; anything else stops it
    }
    return 0;
}

int HttpRequestParser::onBody(http_parser* p, const char* at, size_t length) {
    HttpRequestParser* c = self(p);
    if (c->current_.body.size() + static_cast<qint64>(length) > c->limits_.maxBodyBytes) {
        c->errorStatus_ = 413;
        c->error_ = {ErrorCode::TooLarge,
                     QStringLiteral("request body over %1 bytes").arg(c->limits_.maxBodyBytes)};
        return 1;
    }
    c->current_.body.append(at, static_cast<qsizetype>(length));
    return 0;
}

int HttpRequestParser::onMessageComplete(http_parser* p) {
    HttpRequestParser* c = self(p);
    c->complete_ = true;
    // Stop after each request: the next one is parsed once this one is answered (in order).
    // An upgrade stops the parser by itself (what follows is another protocol).
    if (!c->current_.upgrade)
        http_parser_pause(p, 1);
    return 0;
}

} // namespace herald
