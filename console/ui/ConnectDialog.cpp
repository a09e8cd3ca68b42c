#include "console/ui/ConnectDialog.h"

#include "console/app/TokenVault.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

namespace herald::console {

ConnectDialog::ConnectDialog(ProfileStore& store, QWidget* parent)
    : QDialog(parent)
    , store_(store) {
    setWindowTitle(tr("Connect to a cluster"));
    profiles_ = new QComboBox(this);
    for (const Profile& p : store_.all())
        profiles_->addItem(p.name);
    name_ = new QLineEdit(this);
    url_ = new QLineEdit(this);
    url_->setPlaceholderText(QStringLiteral("http://127.0.0.1:8080"));
    token_ = new QLineEdit(this);
    token_->setEchoMode(QLineEdit::Password);
    warning_ = new QLabel(this);
    warning_->setWordWrap(true);
    warning_->setText(
        TokenVault::compiledIn()
            ? tr("The admin token is saved in the system keyring. If no keyring answers, it is "
                 "saved in "
                 "clear text in this user's settings file instead, and you will be told.")
            : tr("<b>Note:</b> this console was built without QtKeychain, so the admin token is "
                 "saved in "
                 "clear text in this user's settings file. Leave it empty and use --token or "
                 "$HERALD_ADMIN_TOKEN to avoid that."));
    buttons_ = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    auto* connectButton = buttons_->addButton(tr("&Connect"), QDialogButtonBox::AcceptRole);
    connectButton->setDefault(true);
    auto* remove = buttons_->addButton(tr("&Forget profile"), QDialogButtonBox::DestructiveRole);
    connect(buttons_, &QDialogButtonBox::accepted, this, &ConnectDialog::saveAndAccept);
    connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(remove, &QPushButton::clicked, this, [this] {
        store_.remove(name_->text());
        TokenVault::forget(name_->text());
        profiles_->removeItem(profiles_->findText(name_->text()));
    });
    connect(profiles_, &QComboBox::currentTextChanged, this, &ConnectDialog::load);

    auto* form = new QFormLayout(this);
    form->addRow(tr("&Profile:"), profiles_);
    form->addRow(tr("&Name:"), name_);
    form->addRow(tr("Node &URL:"), url_);
    form->addRow(tr("Admin &token:"), token_);
    form->addRow(warning_);
    form->addRow(buttons_);
    const QString last = store_.lastUsed();
    if (profiles_->findText(last) >= 0)
        profiles_->setCurrentText(last);
    load(profiles_->currentText());
}

void ConnectDialog::load(const QString& name) {
    const auto p = store_.find(name);
    if (!p)
        return;
    name_->setText(p->name);
    url_->setText(p->url);
    token_->setText(p->token);
    if (p->tokenInKeyring) {
        token_->setPlaceholderText(tr("reading the keyring…"));
        TokenVault::load(name, this, [this, name](const QString& token) {
            if (name_->text() == name && token_->text().isEmpty())
                token_->setText(token);
            token_->setPlaceholderText(token.isEmpty() ? tr("not found in the keyring")
                                                       : QString());
        });
    }
}

Profile ConnectDialog::profile() const {
    return {name_->text().trimmed(), url_->text().trimmed(), token_->text(), false};
}

void ConnectDialog::saveAndAccept() {
    Profile p = profile();
    if (p.url.isEmpty())
        return;
    if (p.name.isEmpty())
        p.name = p.url;
    store_.setLastUsed(p.name);
    if (p.token.isEmpty()) {
        store_.save(p);
        accept();
        return;
    }
    // The keyring answers asynchronously (it may even ask the user); wait for it with the
    // buttons disabled rather than blocking.
    buttons_->setEnabled(false);
    TokenVault::store(p.name, p.token, this, [this, p](bool inKeyring, const QString& why) {
        Profile saved = p;
        saved.tokenInKeyring = inKeyring;
        store_.save(saved);
        if (!inKeyring)
            clearTextReason_ = why;
        accept();
    });
}

} // namespace herald::console
