#include "console/ui/MainWindow.h"

#include "console/app/ConsoleSession.h"
#include "console/ui/AppIcon.h"
#include "console/ui/ComposeView.h"
#include "console/ui/ConnectDialog.h"
#include "console/ui/DashboardView.h"
#include "console/ui/ListViews.h"
#include "shared/Version.h"

#include <QApplication>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace herald::console {

MainWindow::MainWindow(ConsoleSession& session, QSettings& settings, QWidget* parent)
    : QMainWindow(parent)
    , session_(session)
    , settings_(settings) {
    setWindowTitle(tr("Herald console"));
    setWindowIcon(appIcon());
    tabs_ = new QTabWidget(this);
    dashboard_ = new DashboardView(session_, tabs_);
    compose_ = new ComposeView(session_, tabs_);
    auto* streams = new StreamsView(session_, tabs_);
    tail_ = new TailView(session_, tabs_);
    tabs_->addTab(dashboard_, tr("&Dashboard"));
    tabs_->addTab(compose_, tr("&Compose"));
    tabs_->addTab(streams, tr("&Streams"));
    tabs_->addTab(tail_, tr("&Tail"));
    tabs_->addTab(new AuditView(session_, tabs_), tr("&Audit"));
    connect(streams, &StreamsView::tailRequested, this, [this](const QString& stream) {
        tail_->tail(stream);
        tabs_->setCurrentWidget(tail_);
    });

    // A banner, not only the status bar: a refused token or a lost cluster must be impossible to
    // miss.
    banner_ = new QLabel(this);
    banner_->setObjectName(QStringLiteral("connectionBanner"));
    banner_->setWordWrap(true);
    banner_->setMargin(8);
    banner_->hide();
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(banner_);
    layout->addWidget(tabs_, 1);
    setCentralWidget(central);

    stateLabel_ = new QLabel(this);
    stateLabel_->setObjectName(QStringLiteral("connectionState"));
    statusBar()->addPermanentWidget(stateLabel_, 1);
    connect(&session_, &ConsoleSession::notice, this,
            [this](const QString& text) { statusBar()->showMessage(text, 8000); });
    connect(&session_.client(), &AdminClient::stateChanged, this, &MainWindow::showState);
    connect(&session_.nodes(), &NodesModel::nodeWentDown, this, &MainWindow::nodeDown);
    showState(session_.client().state(), session_.client().stateText());

    if (QSystemTrayIcon::isSystemTrayAvailable()) {
        tray_ = new QSystemTrayIcon(appIcon(), this);
        tray_->setToolTip(tr("Herald console"));
        tray_->show();
    }
    buildMenus();
    restoreGeometry(settings_.value(QStringLiteral("window/geometry")).toByteArray());
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Connect to cluster…"), QKeySequence::Open, this,
                    &MainWindow::connectToProfile);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, [this] {
        settings_.setValue(QStringLiteral("window/geometry"), saveGeometry());
        QApplication::quit();
    });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < tabs_->count(); ++i) {
        const QString name = tabs_->tabText(i).remove(QLatin1Char('&'));
        view->addAction(name, QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this,
                        [this, i] { tabs_->setCurrentIndex(i); });
    }

    QMenu* cluster = menuBar()->addMenu(tr("&Cluster"));
    QAction* compose = cluster->addAction(tr("&New notice"), QKeySequence::New, this,
                                          [this] { tabs_->setCurrentWidget(compose_); });
    Q_UNUSED(compose);
    QAction* drain = cluster->addAction(tr("&Drain selected node…"),
                                        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D), dashboard_,
                                        &DashboardView::drainSelected);
    dashboard_->nodeTable()->addAction(drain);
    cluster->addAction(tr("Dis&connect user…"), this, &MainWindow::disconnectUser);
    cluster->addSeparator();
    cluster->addAction(tr("Refresh &streams and audit"), QKeySequence::Refresh, this, [this] {
        session_.refreshStreams();
        session_.refreshAudit();
    });

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Herald console"), QKeySequence::HelpContents, this,
                    &MainWindow::about);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

QString MainWindow::bannerText() const {
    return banner_->isHidden() ? QString() : banner_->text();
}

void MainWindow::showState(AdminClient::State state, const QString& text) {
    stateLabel_->setText(text);
    switch (state) {
    case AdminClient::State::Connected:
        banner_->hide();
        banner_->clear();
        break;
    case AdminClient::State::Refused:
        banner_->setStyleSheet(
            QStringLiteral("background:#f8d7da; color:#842029; border-radius:4px;"));
        banner_->setText(tr("<b>Access refused.</b> %1 Use File → Connect to enter another token.")
                             .arg(text.toHtmlEscaped()));
        banner_->show();
        break;
    case AdminClient::State::Reconnecting:
        banner_->setStyleSheet(
            QStringLiteral("background:#fff3cd; color:#664d03; border-radius:4px;"));
        banner_->setText(tr("<b>Disconnected.</b> %1 The figures below are not live.")
                             .arg(text.toHtmlEscaped()));
        banner_->show();
        break;
    case AdminClient::State::Connecting:
    case AdminClient::State::Idle:
        break;
    }
}

void MainWindow::nodeDown(const QString& id, const QString& address) {
    const QString title = tr("Herald node %1 is down").arg(id);
    const QString body = tr("%1 left the cluster; its clients should reconnect to other nodes.")
                             .arg(address.isEmpty() ? id : address);
    if (tray_ && QSystemTrayIcon::supportsMessages())
        tray_->showMessage(title, body, QSystemTrayIcon::Warning, 10'000);
    statusBar()->showMessage(title, 15'000);
}

void MainWindow::connectToProfile() {
    ProfileStore store(settings_);
    ConnectDialog dialog(store, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const Profile p = dialog.profile();
    if (!dialog.clearTextReason().isEmpty())
        QMessageBox::warning(this, tr("Token saved in clear text"),
                             tr("The system keyring could not take the admin token (%1), so it was "
                                "saved in clear text "
                                "in the settings file %2.")
                                 .arg(dialog.clearTextReason(), settings_.fileName()));
    session_.open(QUrl::fromUserInput(p.url), p.token.toUtf8());
    setWindowTitle(tr("Herald console — %1").arg(p.name.isEmpty() ? p.url : p.name));
}

void MainWindow::disconnectUser() {
    bool ok = false;
    const QString user =
        QInputDialog::getText(this, tr("Disconnect user"),
                              tr("Close every connection of this user on all nodes:"),
                              QLineEdit::Normal, {}, &ok)
            .trimmed();
    if (!ok || user.isEmpty())
        return;
    if (QMessageBox::question(
            this, tr("Disconnect %1?").arg(user),
            tr("Close all connections of user %1? Their apps will reconnect unless the user is "
               "also blocked elsewhere.")
                .arg(user)) != QMessageBox::Yes)
        return;
    if (!session_.disconnectUser(user))
        statusBar()->showMessage(tr("Not connected; nothing was sent."), 8000);
}

void MainWindow::about() {
    QMessageBox::about(
        this, tr("About Herald console"),
        tr("<h3>Herald console %1</h3><p>Watch a Herald cluster live, broadcast system notices "
           "and see who received them.</p><p>Connected to: %2</p>")
            .arg(QString::fromLatin1(kVersion),
                 session_.client().adminUrl().toDisplayString().toHtmlEscaped()));
}

} // namespace herald::console
