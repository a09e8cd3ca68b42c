#pragma once

#include "server/Config.h"
#include "server/Session.h"
#include "shared/JwtVerifier.h"
#include "shared/Streams.h"

#include <QHostAddress>
#include <QUrlQuery>
#include <optional>
#include <variant>

namespace herald {

// The endpoints a WebSocket may open, each with its own credential rule.
enum class Endpoint { Public, Private, Admin };
std::optional<Endpoint> endpointForPath(const QString& path);

// Decides who a caller is: JWTs for /private, static tokens (compared in constant time) for
// /admin and the HTTP API. Development mode lets loopback callers skip the static tokens.
class Authenticator {
public:
    static std::variant<Authenticator, QString> create(const Config& config);

    // `query` carries ?token= / ?auth_header=; `bearer` is the Authorization header credential.
    std::variant<Identity, Error> authenticateClient(Endpoint endpoint, const QUrlQuery& query,
                                                     const QByteArray& bearer,
                                                     const QHostAddress& peer,
                                                     qint64 nowSeconds) const;
    // May this caller use the publish API? nullopt when yes, else why not.
    std::optional<Error> authorizeApi(const QByteArray& bearer, const QHostAddress& peer) const;

private:
    Authenticator(const Config& config, JwtVerifier verifier);
    // The admin token's name when `token` is one.
    std::optional<QString> adminName(const QByteArray& token) const;
    bool isApiToken(const QByteArray& token) const;
    bool devLoopback(const QHostAddress& peer) const;

    // Copies, not a reference: the Authenticator outlives the Config it was built from.
    QByteArrayList apiTokens_;
    QByteArrayList adminTokens_;
    QStringList adminNames_; // parallel to adminTokens_
    bool devMode_ = false;
    JwtVerifier verifier_;
};

} // namespace herald
