#include "console/ui/ComposeView.h"

#include "console/app/ConsoleSession.h"
#include "shared/Codec.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace herald::console {

ComposeView::ComposeView(ConsoleSession& session, QWidget* parent)
    : QWidget(parent)
    , session_(session) {
    kind_ = new QComboBox(this);
    kind_->setObjectName(QStringLiteral("targetKind"));
    kind_->addItem(tr("Everyone"), static_cast<int>(admin::Target::Kind::All));
    kind_->addItem(tr("Stream"), static_cast<int>(admin::Target::Kind::Stream));
    kind_->addItem(tr("User"), static_cast<int>(admin::Target::Kind::User));
    kind_->addItem(tr("Node"), static_cast<int>(admin::Target::Kind::Node));
    value_ = new QLineEdit(this);
    value_->setObjectName(QStringLiteral("targetValue"));
    title_ = new QLineEdit(this);
    title_->setObjectName(QStringLiteral("title"));
    title_->setMaxLength(codec::kMaxTitleLength);
    body_ = new QPlainTextEdit(this);
    body_->setObjectName(QStringLiteral("body"));
    body_->setTabChangesFocus(true);
    body_->setMaximumHeight(110);
    level_ = new QComboBox(this);
    level_->setObjectName(QStringLiteral("level"));
    for (Level l : {Level::Info, Level::Warning, Level::Critical})
        level_->addItem(levelName(l), static_cast<int>(l));
    preview_ = new QLabel(this);
    preview_->setObjectName(QStringLiteral("audiencePreview"));
    preview_->setWordWrap(true);
    result_ = new QLabel(this);
    result_->setObjectName(QStringLiteral("sendResult"));
    result_->setWordWrap(true);
    send_ = new QPushButton(tr("&Send"), this);
    send_->setObjectName(QStringLiteral("send"));
    send_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    send_->setToolTip(tr("Send (Ctrl+Enter)"));

    auto* targetRow = new QHBoxLayout;
    targetRow->addWidget(kind_);
    targetRow->addWidget(value_, 1);
    auto* form = new QFormLayout;
    // A row holding a layout gets no buddy from addRow(QString, …): give the label one by hand.
    auto* targetLabel = new QLabel(tr("&Target:"), this);
    targetLabel->setBuddy(kind_);
    form->addRow(targetLabel, targetRow);
    form->addRow(tr("T&itle:"), title_);
    form->addRow(tr("&Body:"), body_);
    form->addRow(tr("&Level:"), level_);
    form->addRow(tr("Audience:"), preview_);
    auto* sendRow = new QHBoxLayout;
    sendRow->addWidget(result_, 1);
    sendRow->addWidget(send_);
    form->addRow(sendRow);
    auto* composeBox = new QGroupBox(tr("New system notice"), this);
    composeBox->setLayout(form);

    history_ = new QTableView(this);
    history_->setObjectName(QStringLiteral("broadcastHistory"));
    history_->setModel(&session_.broadcasts());
    history_->verticalHeader()->hide();
    history_->horizontalHeader()->setStretchLastSection(true);
    history_->setSelectionBehavior(QAbstractItemView::SelectRows);
    auto* historyBox = new QGroupBox(tr("Sent from this console (live delivery per node)"), this);
    auto* historyLayout = new QVBoxLayout(historyBox);
    historyLayout->addWidget(history_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(composeBox);
    layout->addWidget(historyBox, 1);

    connect(send_, &QPushButton::clicked, this, &ComposeView::send);
    connect(kind_, &QComboBox::currentIndexChanged, this, [this] {
        const auto kind = static_cast<admin::Target::Kind>(kind_->currentData().toInt());
        value_->setEnabled(kind != admin::Target::Kind::All);
        value_->setPlaceholderText(
            kind == admin::Target::Kind::Stream ? tr("promotional, or private.<user>.<name>")
            : kind == admin::Target::Kind::User ? tr("user id")
            : kind == admin::Target::Kind::Node ? tr("node id (see the dashboard)")
                                                : QString());
        updatePreview();
    });
    connect(value_, &QLineEdit::textChanged, this, &ComposeView::updatePreview);
    // The preview follows the live counts, so it is still right when the admin finally clicks.
    connect(&session_.nodes(), &NodesModel::totalsChanged, this, &ComposeView::updatePreview);
    connect(&session_.streams(), &QAbstractItemModel::modelReset, this,
            &ComposeView::updatePreview);
    value_->setEnabled(false);
    updatePreview();
}

admin::Target ComposeView::target() const {
    const auto kind = static_cast<admin::Target::Kind>(kind_->currentData().toInt());
    return {kind, kind == admin::Target::Kind::All ? QString() : value_->text().trimmed()};
}

void ComposeView::setTarget(const admin::Target& target) {
    kind_->setCurrentIndex(kind_->findData(static_cast<int>(target.kind)));
    value_->setText(target.value);
}

SystemNotice ComposeView::notice() const {
    return {title_->text().trimmed(), body_->toPlainText().trimmed(),
            static_cast<Level>(level_->currentData().toInt())};
}

void ComposeView::updatePreview() {
    const AudiencePreview p = session_.preview(target());
    preview_->setText(p.text);
    preview_->setStyleSheet(p.valid ? QString() : QStringLiteral("color: #b02a37"));
}

void ComposeView::send() {
    const admin::Target t = target();
    const SystemNotice n = notice();
    if (n.title.isEmpty()) {
        result_->setText(tr("A notice needs a title."));
        title_->setFocus();
        return;
    }
    const AudiencePreview p = session_.preview(t);
    // Everyone is the one target that cannot be taken back from thousands of screens: ask first.
    if (t.kind == admin::Target::Kind::All) {
        const auto answer =
            QMessageBox::question(this, tr("Broadcast to everyone?"),
                                  tr("Send \"%1\" (%2) to every connected client?\n\nIt %3.")
                                      .arg(n.title, levelName(n.level), p.text),
                                  QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes) {
            result_->setText(tr("Not sent."));
            return;
        }
    }
    QString why;
    if (!session_.sendBroadcast(t, n, &why)) {
        result_->setText(tr("Not sent: %1").arg(why));
        return;
    }
    result_->setText(tr("Sent; delivery below."));
    history_->selectRow(0);
}

} // namespace herald::console
