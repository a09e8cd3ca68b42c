// libFuzzer target: the JWT verifier (shared/JwtVerifier.h), which sees every token a client
// offers before anything else does. The first input byte picks what the rest is:
//   0, 1  a whole token, checked by a verifier with an HS256 secret and an RSA key (HS256 and
//         RS256) and by one with an EC P-256 key (ES256), so that segment splitting, base64url,
//         header parsing and each signature check meet arbitrary bytes;
//   2     header JSON, a zero byte, payload JSON: signed here with the HS256 secret, so that the
//         claim checks behind the signature meet arbitrary JSON too;
//   3     the same, signed here with the EC key (ES256), against a verifier that also checks
//         audience and issuer.
// Contract: every refusal is Unauthorized with a reason; a token that this harness did not sign
// never verifies; a token it signed for the algorithm its header names is never refused for its
// signature; an accepted token's subject is its non-empty "sub".

#include "tests/fuzz/FuzzSupport.h"

#include "shared/JwtVerifier.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

using namespace herald;

namespace {

constexpr qint64 kNow = 1'700'000'000;
const QByteArray kSecret = "fuzz-secret-0123456789-0123456789-0123456789";

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

QByteArray b64url(const QByteArray& bytes) {
    return bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

QByteArray publicPem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1)
        return {};
    char* pem = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &pem);
    return QByteArray(pem, length);
}

QByteArray hs256(const QByteArray& signingInput) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), kSecret.constData(), int(kSecret.size()),
         reinterpret_cast<const unsigned char*>(signingInput.constData()),
         size_t(signingInput.size()), mac, &length);
    return QByteArray(reinterpret_cast<const char*>(mac), qsizetype(length));
}

// JWS ES256 wants R||S (32 bytes each); OpenSSL signs in DER.
QByteArray es256(EVP_PKEY* key, const QByteArray& signingInput) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    const auto* in = reinterpret_cast<const unsigned char*>(signingInput.constData());
    size_t length = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, in, size_t(signingInput.size())) != 1)
        return {};
    QByteArray der(qsizetype(length), Qt::Uninitialized);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &length, in,
                       size_t(signingInput.size())) != 1)
        return {};
    const auto* derBytes = reinterpret_cast<const unsigned char*>(der.constData());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
        d2i_ECDSA_SIG(nullptr, &derBytes, long(length)), &ECDSA_SIG_free);
    QByteArray raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) != 32)
        return {};
    return raw;
}

JwtVerifier makeVerifier(const JwtConfig& config) {
    auto created = JwtVerifier::create(config);
    if (auto* error = std::get_if<QString>(&created)) {
        std::fprintf(stderr, "fuzz_jwt: cannot set up a verifier: %s\n", qPrintable(*error));
        std::abort();
    }
    return std::get<JwtVerifier>(std::move(created));
}

// Fresh keys per process: no token in the corpus can carry a valid RS256 or ES256 signature.
struct Setup {
    PKey rsa{EVP_RSA_gen(2048), &EVP_PKEY_free};
    PKey ec{EVP_EC_gen("P-256"), &EVP_PKEY_free};
    JwtVerifier hsAndRsa = makeVerifier({kSecret, publicPem(rsa.get()), {}, {}, {}, 30});
    JwtVerifier ecWithClaims = makeVerifier({{},
                                             publicPem(ec.get()),
                                             {},
                                             QStringLiteral("herald"),
                                             QStringLiteral("https://issuer.example"),
                                             30});
};

const Setup& setup() {
    static const Setup instance;
    return instance;
}

// Verifies, and checks what any answer must satisfy.
std::variant<JwtClaims, Error> check(const JwtVerifier& verifier, const QByteArray& token,
                                     QByteArrayView input) {
    auto result = verifier.verify(token, kNow);
    if (const Error* error = std::get_if<Error>(&result)) {
        fuzz::require(error->code == ErrorCode::Unauthorized && !error->message.isEmpty(),
                      "JwtVerifier::verify", "a refusal that is not Unauthorized with a reason",
                      input);
        return result;
    }
    const JwtClaims& claims = std::get<JwtClaims>(result);
    fuzz::require(!claims.subject.isEmpty() &&
                      claims.claims.value(QLatin1String("sub")).toString() == claims.subject,
                  "JwtVerifier::verify", "accepted without its \"sub\" as the subject", input);
    return result;
}

bool accepted(const std::variant<JwtClaims, Error>& result) {
    return std::holds_alternative<JwtClaims>(result);
}

void checkRawToken(const QByteArray& token, QByteArrayView input) {
    const Setup& s = setup();
    if (accepted(check(s.hsAndRsa, token, input))) {
        // Only an HS256 signature made with the secret (a seed may hold one) can be genuine.
        const qsizetype dot = token.lastIndexOf('.');
        fuzz::require(dot > 0 && token.mid(dot + 1) == b64url(hs256(token.left(dot))),
                      "JwtVerifier::verify", "accepted a token nobody signed", input);
    }
    fuzz::require(!accepted(check(s.ecWithClaims, token, input)), "JwtVerifier::verify",
                  "accepted an ES256 token nobody signed", input);
}

void checkSignedToken(bool withEc, QByteArrayView rest, QByteArrayView input) {
    const Setup& s = setup();
    const qsizetype zero = rest.indexOf('\0');
    const QByteArray header = (zero < 0 ? rest : rest.first(zero)).toByteArray();
    const QByteArray payload = zero < 0 ? QByteArray() : rest.sliced(zero + 1).toByteArray();
    const QByteArray signingInput = b64url(header) + '.' + b64url(payload);
    const QByteArray signature = withEc ? es256(s.ec.get(), signingInput) : hs256(signingInput);
    fuzz::require(!signature.isEmpty(), "fuzz_jwt", "the harness could not sign", input);
    const QByteArray token = signingInput + '.' + b64url(signature);
    const JwtVerifier& verifier = withEc ? s.ecWithClaims : s.hsAndRsa;

    const auto result = check(verifier, token, input);
    const QJsonObject h = QJsonDocument::fromJson(header).object();
    const bool namesItsAlgorithm =
        h.value(QLatin1String("alg")).toString() == QLatin1String(withEc ? "ES256" : "HS256");
    if (const Error* error = std::get_if<Error>(&result); error && namesItsAlgorithm)
        fuzz::require(error->message != QLatin1String("bad signature"), "JwtVerifier::verify",
                      "refused a genuine signature", input);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const QByteArrayView input = fuzz::bytes(data, size);
    if (input.isEmpty())
        return 0;
    const QByteArrayView rest = input.sliced(1);
    switch (data[0] % 4) {
    case 2:
        checkSignedToken(false, rest, input);
        break;
    case 3:
        checkSignedToken(true, rest, input);
        break;
    default:
        checkRawToken(rest.toByteArray(), input);
        break;
    }
    return 0;
}
