#include "server/Session.h"

#include "server/Hub.h"
#include "shared/Admin.h"
#include "shared/Codec.h"
#include "shared/Limits.h"

namespace herald {

Session::Session(quint64 id, Identity identity, std::unique_ptr<ClientTransport> transport,
                 Hub& hub, qint64 nowMs)
    : id_(id)
    , name_(QString::number(id, 36))
    , identity_(std::move(identity))
    , transport_(std::move(transport))
    , hub_(hub)
    , lastActivityMs_(nowMs) {}

void Session::onText(QByteArrayView frame, qint64 nowMs) {
    lastActivityMs_ = nowMs;
    hub_.metrics().messagesIn++;
    if (identity_.role == Identity::Role::Admin) {
        // The console's protocol: the client events plus the admin commands (shared/Admin.h).
        auto command = admin::decodeCommand(frame);
        if (auto* error = std::get_if<Error>(&command))
            return sendError(error->code, error->message);
        return hub_.handleAdmin(*this, std::get<admin::AdminCommand>(command));
    }
    auto decoded = codec::decodeClientMessage(frame);
    if (auto* error = std::get_if<Error>(&decoded)) {
        sendError(error->code, error->message);
        return;
    }
    std::visit(
        [this](const auto& request) {
            using T = std::decay_t<decltype(request)>;
            if constexpr (std::is_same_v<T, SubscribeRequest>)
                hub_.router().subscribe(*this, request);
            else if constexpr (std::is_same_v<T, UnsubscribeRequest>)
                hub_.router().unsubscribe(*this, request);
            else
                sendEvent(PongEvent{});
        },
        std::get<ClientMessage>(decoded));
}

void Session::onBinary(qint64 nowMs) {
    lastActivityMs_ = nowMs;
    hub_.metrics().messagesIn++;
    sendError(ErrorCode::BadRequest,
              QStringLiteral("binary frames are not supported; send JSON text"));
}

bool Session::send(const Frame& frame) {
    if (closing_) {
        hub_.metrics().drops++;
        return false;
    }
    if (transport_->pendingBytes() > hub_.config().maxOutboundBytes) {
        hub_.metrics().drops++;
        close(close_code::kSlowConsumer, QStringLiteral("slow consumer: outbound queue full"));
        return false;
    }
    transport_->send(frame);
    hub_.metrics().deliveries++;
    return true;
}

void Session::sendEvent(const ServerMessage& message) {
    send(Frame::text(codec::encode(message)));
}

void Session::sendError(ErrorCode code, const QString& message, const QString& stream) {
    hub_.metrics().countError(code);
    sendEvent(ErrorEvent{{code, message}, stream});
}

void Session::close(int code, const QString& reason) {
    if (closing_)
        return;
    closing_ = true;
    transport_->close(code, reason);
}

} // namespace herald
