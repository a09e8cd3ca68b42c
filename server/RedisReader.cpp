#include "server/RedisReader.h"

#include <hiredis/read.h>

#include <memory>

namespace herald {
namespace {

using Budget = RedisReplyReader::Budget;

// hiredis's object hooks. A root reply is allocated here and handed out by next(); an element
// lives inside its parent's vector (sized when the array header arrived), so hiredis only ever
// frees roots. Returning nullptr makes hiredis stop with an out-of-memory error, which next()
// reports as the budget being exceeded.
RedisReply* place(const redisReadTask* task, RedisReply::Type type, qint64 extraBytes) {
    auto* budget = static_cast<Budget*>(task->privdata);
    const bool root = task->parent == nullptr;
    if (!budget->charge(extraBytes + (root ? qint64(sizeof(RedisReply)) : 0)))
        return nullptr;
    RedisReply* r = root ? new RedisReply
                         : &static_cast<RedisReply*>(task->parent->obj)
                                ->elements[static_cast<size_t>(task->idx)];
    r->type = type;
    return r;
}

void* createString(const redisReadTask* task, char* data, size_t length) {
    const RedisReply::Type type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::Error
                                  : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::Status
                                                                     : RedisReply::Type::String;
    RedisReply* r = place(task, type, static_cast<qint64>(length));
    if (r)
        r->string = QByteArray(data, static_cast<qsizetype>(length));
    return r;
}

void* createArray(const redisReadTask* task, int elements) {
    // Charged before anything is allocated: "*2000000000\r\n" alone must not cost gigabytes.
    RedisReply* r =
        place(task, RedisReply::Type::Array, qint64(elements) * qint64(sizeof(RedisReply)));
    if (r)
        r->elements.resize(static_cast<size_t>(elements));
    return r;
}

void* createInteger(const redisReadTask* task, long long value) {
    RedisReply* r = place(task, RedisReply::Type::Integer, 0);
    if (r)
        r->integer = value;
    return r;
}

void* createNil(const redisReadTask* task) {
    return place(task, RedisReply::Type::Nil, 0);
}

void freeObject(void* root) {
    delete static_cast<RedisReply*>(root);
}

// Never written (hiredis only reads it; its API takes a non-const pointer).
redisReplyObjectFunctions kFunctions = {createString, createArray, createInteger, createNil,
                                        freeObject};

} // namespace

RedisReplyReader::RedisReplyReader(qint64 maxReplyBytes) {
    budget_.max = maxReplyBytes;
    reader_ = redisReaderCreateWithFunctions(&kFunctions);
    if (!reader_) {
        error_ = QStringLiteral("out of memory");
        return;
    }
    reader_->privdata = &budget_; // handed to every hook through its task
}

RedisReplyReader::~RedisReplyReader() {
    redisReaderFree(reader_);
}

qint64 RedisReplyReader::buffered() const {
    return reader_ ? static_cast<qint64>(reader_->len - reader_->pos) : 0;
}

void RedisReplyReader::setError(const QString& text) {
    error_ = text;
    // Whatever was buffered or half built goes now, not when the connection object goes.
    redisReaderFree(reader_);
    reader_ = nullptr;
}

void RedisReplyReader::feed(const char* data, qsizetype size) {
    if (failed() || size <= 0)
        return;
    if (redisReaderFeed(reader_, data, static_cast<size_t>(size)) != REDIS_OK)
        setError(QStringLiteral("out of memory"));
}

std::optional<RedisReply> RedisReplyReader::next() {
    if (failed())
        return std::nullopt;
    const auto tooLarge = [this] {
        return QStringLiteral("a reply exceeds the limit of %1 bytes").arg(budget_.max);
    };
    void* out = nullptr;
    if (redisReaderGetReply(reader_, &out) != REDIS_OK) {
        setError(budget_.exceeded
                     ? tooLarge()
                     : QStringLiteral("protocol error: ") + QString::fromLatin1(reader_->errstr));
        return std::nullopt;
    }
    if (!out) {
        // Incomplete: what waits in the buffer counts too (a bulk string whose length was
        // announced, or a line that never ends, sits there until it is complete).
        if (buffered() + budget_.used > budget_.max)
            setError(tooLarge());
        return std::nullopt;
    }
    const std::unique_ptr<RedisReply> root(static_cast<RedisReply*>(out));
    budget_.used = 0;
    return std::move(*root);
}

} // namespace herald
