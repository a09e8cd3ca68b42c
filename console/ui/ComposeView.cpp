#include "console/ui/ComposeView.h"

#include "console/app/ConsoleSession.h"
#include "shared/Codec.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QItemSelectionModel>
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
    ttl_ = new QLineEdit(this);
    ttl_->setObjectName(QStringLiteral("ttl"));
    ttl_->setPlaceholderText(tr("empty: only open connections; 90s, 15m, 2h, up to 7d"));
    ttl_->setToolTip(tr("Sticky: connections opened during this time get the notice too, right "
                        "after they connect (target Everyone only)"));
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
    form->addRow(tr("Stic&ky for:"), ttl_);
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

    sticky_ = new QTableView(this);
    sticky_->setObjectName(QStringLiteral("stickyList"));
    sticky_->setModel(&session_.sticky());
    sticky_->verticalHeader()->hide();
    sticky_->horizontalHeader()->setStretchLastSection(true);
    sticky_->setSelectionBehavior(QAbstractItemView::SelectRows);
    sticky_->setSelectionMode(QAbstractItemView::SingleSelection);
    sticky_->setWordWrap(false);
    sticky_->setMaximumHeight(130);
    for (int column :
         {console::StickyModel::Until, console::StickyModel::Level, console::StickyModel::Id})
        sticky_->horizontalHeader()->setSectionResizeMode(column, QHeaderView::ResizeToContents);
    withdraw_ = new QPushButton(tr("&Withdraw"), this);
    withdraw_->setObjectName(QStringLiteral("withdraw"));
    withdraw_->setToolTip(tr("Withdraw the selected notice: new connections no longer get it and "
                             "open ones are told to hide it"));
    auto* stickyBox =
        new QGroupBox(tr("Active sticky notices (connections opened now get them too)"), this);
    auto* stickyLayout = new QHBoxLayout(stickyBox);
    stickyLayout->addWidget(sticky_, 1);
    stickyLayout->addWidget(withdraw_, 0, Qt::AlignTop);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(composeBox);
    layout->addWidget(stickyBox);
    layout->addWidget(historyBox, 1);

    connect(withdraw_, &QPushButton::clicked, this, &ComposeView::withdrawSelected);
    auto updateWithdraw = [this] {
        withdraw_->setEnabled(sticky_->selectionModel()->hasSelection());
    };
    connect(sticky_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            updateWithdraw);
    connect(&session_.sticky(), &QAbstractItemModel::modelReset, this, updateWithdraw);
    updateWithdraw();

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

qint64 ComposeView::ttlMs() const {
    if (ttl_->text().trimmed().isEmpty())
        return 0;
    const auto parsed = codec::parseTtl(ttl_->text());
    return std::holds_alternative<qint64>(parsed) ? std::get<qint64>(parsed) : -1;
}

void ComposeView::withdrawSelected() {
    const QModelIndexList rows = sticky_->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return;
    const StickyNotice n = session_.sticky().notice(rows.first().row());
    result_->setText(session_.withdraw(n.id) ? tr("Withdrawing \"%1\".").arg(n.notice.title)
                                             : tr("Not withdrawn: not connected."));
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
    const qint64 ttl = ttlMs();
    if (ttl < 0) {
        result_->setText(
            tr("\"Sticky for\" must be a whole number and s, m, h or d (90s, 15m, 2h; up to 7d)."));
        ttl_->setFocus();
        return;
    }
    const AudiencePreview p = session_.preview(t);
    // Everyone is the one target that cannot be taken back from thousands of screens: ask first.
    if (t.kind == admin::Target::Kind::All) {
        const auto answer =
            QMessageBox::question(this, tr("Broadcast to everyone?"),
                                  tr("Send \"%1\" (%2) to every connected client?\n\nIt %3.%4")
                                      .arg(n.title, levelName(n.level), p.text,
                                           ttl > 0 ? tr("\n\nClients that connect within %1 "
                                                        "get it too.")
                                                         .arg(codec::formatTtl(ttl))
                                                   : QString()),
                                  QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes) {
            result_->setText(tr("Not sent."));
            return;
        }
    }
    QString why;
    if (!session_.sendBroadcast(t, n, &why, ttl)) {
        result_->setText(tr("Not sent: %1").arg(why));
        return;
    }
    result_->setText(tr("Sent; delivery below."));
    history_->selectRow(0);
}

} // namespace herald::console
