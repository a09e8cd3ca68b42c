#include "console/app/TokenVault.h"

#include <QMetaObject>

#ifdef HERALD_HAVE_QTKEYCHAIN
#include <qt6keychain/keychain.h>
#endif

namespace herald::console {
namespace {
[[maybe_unused]] const QString kService = QStringLiteral("herald-console");
}

bool TokenVault::compiledIn() {
#ifdef HERALD_HAVE_QTKEYCHAIN
    return true;
#else
    return false;
#endif
}

void TokenVault::store(const QString& profile, const QString& token, QObject* context,
                       std::function<void(bool, const QString&)> done) {
#ifdef HERALD_HAVE_QTKEYCHAIN
    auto* job = new QKeychain::WritePasswordJob(kService);
    job->setKey(profile);
    job->setTextData(token);
    // Never QtKeychain's own plain-file fallback: the UI must know when a token is in clear text.
    job->setInsecureFallback(false);
    QObject::connect(job, &QKeychain::Job::finished, context,
                     [done = std::move(done)](QKeychain::Job* j) {
                         done(j->error() == QKeychain::NoError, j->errorString());
                     });
    job->start();
#else
    Q_UNUSED(profile);
    Q_UNUSED(token);
    // Queued, so callers see the same asynchronous order with or without a keyring.
    QMetaObject::invokeMethod(
        context, [done = std::move(done)] { done(false, QObject::tr("built without QtKeychain")); },
        Qt::QueuedConnection);
#endif
}

void TokenVault::load(const QString& profile, QObject* context,
                      std::function<void(const QString&)> done) {
#ifdef HERALD_HAVE_QTKEYCHAIN
    auto* job = new QKeychain::ReadPasswordJob(kService);
    job->setKey(profile);
    job->setInsecureFallback(false);
    QObject::connect(job, &QKeychain::Job::finished, context,
                     [done = std::move(done)](QKeychain::Job* j) {
                         const auto* read = static_cast<QKeychain::ReadPasswordJob*>(j);
                         done(j->error() == QKeychain::NoError ? read->textData() : QString());
                     });
    job->start();
#else
    Q_UNUSED(profile);
    QMetaObject::invokeMethod(
        context, [done = std::move(done)] { done(QString()); }, Qt::QueuedConnection);
#endif
}

void TokenVault::forget(const QString& profile) {
#ifdef HERALD_HAVE_QTKEYCHAIN
    auto* job = new QKeychain::DeletePasswordJob(kService);
    job->setKey(profile);
    job->start();
#else
    Q_UNUSED(profile);
#endif
}

} // namespace herald::console
