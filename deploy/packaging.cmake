# packaging.cmake — what `cmake --install` puts where, and the Debian package CPack makes of it
# (`cpack -G DEB` in the build tree; deploy/package.sh does it all from a clean checkout). The RPM
# spec (deploy/slurmpush.spec) installs the same files through the same rules.
include(GNUInstallDirs)
set(SLURMPUSH_UNIT_DIR "/lib/systemd/system" CACHE STRING "where the systemd unit goes (EL: /usr/lib/systemd/system)")
set(SLURMPUSH_PACKAGE_RELEASE "" CACHE STRING "Debian revision appended to the version (empty: none)")
set(doc ${CMAKE_INSTALL_DATADIR}/doc/slurmpush)

# man pages, compressed as Debian policy asks (-n: no time stamp, so builds are reproducible)
set(man_out ${CMAKE_BINARY_DIR}/man)
file(MAKE_DIRECTORY ${man_out})
add_custom_command(OUTPUT ${man_out}/slurmpush.8.gz ${man_out}/slurmpush-trace.1.gz ${man_out}/changelog.gz
  COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/deploy/slurmpush.8 > ${man_out}/slurmpush.8.gz
  COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/deploy/slurmpush-trace.1 > ${man_out}/slurmpush-trace.1.gz
  COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/deploy/changelog > ${man_out}/changelog.gz
  DEPENDS ${CMAKE_SOURCE_DIR}/deploy/slurmpush.8 ${CMAKE_SOURCE_DIR}/deploy/slurmpush-trace.1 ${CMAKE_SOURCE_DIR}/deploy/changelog)
add_custom_target(slurmpush_man ALL DEPENDS ${man_out}/slurmpush.8.gz ${man_out}/slurmpush-trace.1.gz ${man_out}/changelog.gz)

install(PROGRAMS deploy/slurmpush-trace DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES deploy/slurmpush.service DESTINATION ${SLURMPUSH_UNIT_DIR})
install(FILES deploy/slurmpush.default DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/default RENAME slurmpush)
install(FILES ${man_out}/slurmpush.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${man_out}/slurmpush-trace.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES README.md deploy/copyright DESTINATION ${doc})
install(FILES ${man_out}/changelog.gz DESTINATION ${doc})
install(DIRECTORY deploy/grafana/ DESTINATION ${doc}/dashboards FILES_MATCHING PATTERN "*.json")
install(DIRECTORY deploy/prometheus/ DESTINATION ${doc}/rules FILES_MATCHING PATTERN "*.yml")
install(DIRECTORY deploy/examples/ DESTINATION ${doc}/examples)

set(CPACK_PACKAGE_NAME slurmpush)
set(CPACK_PACKAGE_VENDOR "slurmpush")
set(CPACK_PACKAGE_CONTACT "slurmpush maintainers <maintainers@slurmpush.dev>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Slurm state to Prometheus remote-write, Pushgateway and /metrics")
set(CPACK_PACKAGE_DESCRIPTION "slurmpush runs on a Slurm login or controller node, collects the cluster's\n state through the Slurm CLI and pushes it to Prometheus-compatible storage by\n remote-write or to a Pushgateway; it also serves /metrics and takes per-job\n process traces from job wrappers.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://slurmpush.invalid/")
if(SLURMPUSH_PACKAGE_RELEASE)
  set(CPACK_DEBIAN_PACKAGE_RELEASE ${SLURMPUSH_PACKAGE_RELEASE})
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# libraries from dpkg-shlibdeps; slurmpush-trace needs python3; the Slurm CLI is what it runs
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "slurm-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/deploy/debian/conffiles;${CMAKE_SOURCE_DIR}/deploy/debian/postinst;${CMAKE_SOURCE_DIR}/deploy/debian/prerm;${CMAKE_SOURCE_DIR}/deploy/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
