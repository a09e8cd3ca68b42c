# Debian packages with CPack: `cpack -G DEB` in the build directory writes
#   herald-server_<version>_<arch>.deb   herald-server, man page, systemd unit, sysusers entry,
#                                        /etc/herald/herald.ini (conffile)
#   herald-console_<version>_<arch>.deb  herald-console, man page, desktop entry, icon, AppStream
#   heraldctl_<version>_<arch>.deb       heraldctl, man page
# into <build>/packages. Library dependencies come from dpkg-shlibdeps (package dpkg-dev).
# packaging/deb-check.sh builds, lints, installs and checks them.
set(HERALD_DEB_MAINTAINER "Herald maintainers <herald-maintainers@example.org>"
    CACHE STRING "Maintainer field of the Debian packages (Name <email>)")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME herald)
set(CPACK_PACKAGE_VENDOR Herald)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${HERALD_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SOURCE herald)
# Debian policy permissions on the maintainer scripts and control files.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_COMPONENTS_ALL server server_system ctl)
if(HERALD_BUILD_CONSOLE)
  list(APPEND CPACK_COMPONENTS_ALL console)
endif()

set(deb ${CMAKE_CURRENT_LIST_DIR})
set(CPACK_DEBIAN_HERALD-SERVER_PACKAGE_NAME herald-server)
set(CPACK_DEBIAN_HERALD-SERVER_DESCRIPTION
    "live-notification server node (WebSocket fan-out)
Herald holds WebSocket connections from browsers and apps and delivers each
event published to a stream (over HTTP, heraldctl or Redis PUBLISH) to every
connection that subscribed to it. Several nodes sharing one Redis form a
cluster with cluster-wide online counts.
.
This package holds herald-server, a systemd unit (not enabled until the
tokens in /etc/herald/herald.ini are set) and the herald system user.")
# The service's system user comes from its sysusers.d entry (postinst runs systemd-sysusers).
set(CPACK_DEBIAN_HERALD-SERVER_PACKAGE_DEPENDS "systemd | systemd-sysusers")
set(CPACK_DEBIAN_HERALD-SERVER_PACKAGE_SUGGESTS "heraldctl, redis-server")
set(CPACK_DEBIAN_HERALD-SERVER_PACKAGE_CONTROL_EXTRA
    "${deb}/herald-server/conffiles;${deb}/herald-server/postinst;${deb}/herald-server/prerm;${deb}/herald-server/postrm")

set(CPACK_DEBIAN_HERALD-CONSOLE_PACKAGE_NAME herald-console)
set(CPACK_DEBIAN_HERALD-CONSOLE_DESCRIPTION
    "desktop console for a Herald notification cluster
herald-console connects to any node of a Herald cluster and shows every
node's connections and online users live, keeps a node that died visible as
down, and lets an admin compose a system notice, see who it will reach before
sending it and who received it afterwards.")

set(CPACK_DEBIAN_HERALDCTL_PACKAGE_NAME heraldctl)
set(CPACK_DEBIAN_HERALDCTL_DESCRIPTION
    "command-line client for Herald notification servers
heraldctl publishes events to Herald streams, broadcasts system messages,
shows a node's and the cluster's figures and tails a stream, for scripts and
web servers that want to push events without linking anything.")

include(CPack)
cpack_add_component_group(herald-server)
cpack_add_component_group(herald-console)
cpack_add_component_group(heraldctl)
cpack_add_component(server GROUP herald-server)
cpack_add_component(server_system GROUP herald-server)
cpack_add_component(console GROUP herald-console)
cpack_add_component(ctl GROUP heraldctl)

# Every package carries its copyright file and a Debian changelog. The date honours
# SOURCE_DATE_EPOCH (as help2man does for the man pages), for reproducible packages.
string(TIMESTAMP changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${deb}/changelog.in ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian @ONLY)
set(changelog_gz ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.gz)
add_custom_command(OUTPUT ${changelog_gz}
                   COMMAND gzip -9nc ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian > ${changelog_gz}
                   DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian)
add_custom_target(deb-changelog ALL DEPENDS ${changelog_gz})
foreach(pair IN ITEMS "herald-server|server" "herald-console|console" "heraldctl|ctl")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 package)
  list(GET pair 1 component)
  if(component STREQUAL console AND NOT HERALD_BUILD_CONSOLE)
    continue()
  endif()
  install(FILES ${deb}/copyright ${changelog_gz}
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
endforeach()
