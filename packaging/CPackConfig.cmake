# The Debian package: install rules for everything but the binary (which
# cli/CMakeLists.txt installs) and the CPack DEB settings. Included from the
# top CMakeLists.txt; build it with scripts/build-deb.sh (or `cpack -G DEB`
# in a build directory).

set(PAXOSFS_DEB_VERSION_SUFFIX "" CACHE STRING
    "Appended to the package version, e.g. +test2 (upgrade tests)")
set(PAXOSFS_DEB_RELEASE "1" CACHE STRING "Debian revision of the package")
set(PAXOSFS_DEB_VERSION "${PROJECT_VERSION}${PAXOSFS_DEB_VERSION_SUFFIX}")
set(PAXOSFS_DEB_FULL_VERSION "${PAXOSFS_DEB_VERSION}-${PAXOSFS_DEB_RELEASE}")

set(pkg_src ${PROJECT_SOURCE_DIR}/packaging)
set(pkg_bin ${PROJECT_BINARY_DIR}/packaging)
set(PAXOSFS_VERSION ${PROJECT_VERSION})
configure_file(${pkg_src}/paxosfs.1 ${pkg_bin}/paxosfs.1 @ONLY)
configure_file(${pkg_src}/changelog.Debian.in ${pkg_bin}/changelog.Debian
               @ONLY)
# gzip -n: no name or timestamp inside, so the package is reproducible.
foreach(doc paxosfs.1 changelog.Debian)
  execute_process(COMMAND gzip -9nf -k ${pkg_bin}/${doc}
                  RESULT_VARIABLE gzip_rc)
  if(NOT gzip_rc EQUAL 0)
    message(FATAL_ERROR "gzip ${pkg_bin}/${doc} failed")
  endif()
endforeach()

# Hardening the packaged binary asks for (lintian: hardening-no-relro,
# hardening-no-bindnow); PIE is the compiler's default on Debian.
target_link_options(paxosfs PRIVATE -Wl,-z,relro -Wl,-z,now)

set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
    WORLD_READ WORLD_EXECUTE)
install(FILES ${pkg_bin}/paxosfs.1.gz DESTINATION share/man/man1)
install(FILES ${pkg_src}/paxosfs@.service DESTINATION /lib/systemd/system)
install(FILES ${pkg_src}/main.conf DESTINATION /etc/paxosfs)
install(FILES ${pkg_src}/paxosfs.bash-completion
        DESTINATION share/bash-completion/completions RENAME paxosfs)
install(FILES ${pkg_src}/lintian-overrides
        DESTINATION share/lintian/overrides RENAME paxosfs)
install(FILES ${pkg_src}/copyright ${pkg_src}/README.Debian
              ${pkg_bin}/changelog.Debian.gz
        DESTINATION share/doc/paxosfs)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME paxosfs)
set(CPACK_PACKAGE_VERSION ${PAXOSFS_DEB_VERSION})
set(CPACK_PACKAGE_VENDOR "paxosfs")
set(CPACK_PACKAGE_CONTACT
    "paxosfs maintainers <maintainers@users.noreply.h-seed-4ea7f4f7.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "directory kept identical on every node by Multi-Paxos")
# Lines of at most 80 characters (lintian); CPack indents them.
set(CPACK_PACKAGE_DESCRIPTION
    "paxosfs mounts a directory with FUSE on every node of a cluster and
keeps it identical everywhere: every change made through any mount becomes
an entry of one replicated transaction log chosen by Multi-Paxos, applied
in the same order on every node. Mutations are durable on a majority before
the system call returns, and reads are linearizable.

This package ships the paxosfs command, the systemd unit template
paxosfs@.service (one node per /etc/paxosfs/NAME.conf) and a default
configuration.")
set(CPACK_DEBIAN_PACKAGE_RELEASE ${PAXOSFS_DEB_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime libraries come from dpkg-shlibdeps; fuse3 brings fusermount3 and
# /etc/fuse.conf.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${pkg_src}/deb/conffiles ${pkg_src}/deb/postinst ${pkg_src}/deb/prerm
    ${pkg_src}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
