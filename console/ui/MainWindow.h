#pragma once

#include "console/client/AdminClient.h"

#include <QMainWindow>

class QLabel;
class QSettings;
class QSystemTrayIcon;
class QTabWidget;

namespace herald::console {

class ComposeView;
class ConsoleSession;
class DashboardView;
class TailView;

// The frame: tabs, menus, shortcuts, the connection banner and desktop notifications. Each tab
// is its own view bound to the session's models; this class only arranges them.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow(ConsoleSession& session, QSettings& settings, QWidget* parent = nullptr);

    DashboardView* dashboard() const { return dashboard_; }
    ComposeView* compose() const { return compose_; }
    QTabWidget* tabs() const { return tabs_; }
    QString bannerText() const;

private:
    void buildMenus();
    void showState(AdminClient::State state, const QString& text);
    void nodeDown(const QString& id, const QString& address);
    void connectToProfile();
    void disconnectUser();
    void about();

    ConsoleSession& session_;
    QSettings& settings_;
    QTabWidget* tabs_;
    DashboardView* dashboard_;
    ComposeView* compose_;
    TailView* tail_;
    QLabel* banner_;
    QLabel* stateLabel_;
    QSystemTrayIcon* tray_ = nullptr;
};

} // namespace herald::console
