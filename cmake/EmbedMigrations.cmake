# Compiles a service's versioned SQL files (NNN_name.sql) into its binary, so a container image
# or a Helm hook Job needs nothing beside the executable to migrate.
#
#   im_embed_migrations(TARGET sequence_lib NAMESPACE im::sequence DIR migrations)
# adds migrations_embedded.{h,cc} declaring `const std::vector<im::Migration>& EmbeddedMigrations()`
# inside NAMESPACE.
set(IM_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/EmbedMigrationsScript.cmake)

function(im_embed_migrations)
  cmake_parse_arguments(ARG "" "TARGET;NAMESPACE;DIR" "" ${ARGN})
  file(GLOB sql_files CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_DIR}/*.sql)
  list(SORT sql_files)
  set(out_cc ${CMAKE_CURRENT_BINARY_DIR}/migrations_embedded.cc)
  set(out_h ${CMAKE_CURRENT_BINARY_DIR}/migrations_embedded.h)
  string(REPLACE ";" "|" files_arg "${sql_files}")
  add_custom_command(
    OUTPUT ${out_cc} ${out_h}
    COMMAND ${CMAKE_COMMAND} -DNAMESPACE=${ARG_NAMESPACE} "-DFILES=${files_arg}"
      -DOUT_CC=${out_cc} -DOUT_H=${out_h} -P ${IM_EMBED_SCRIPT}
    DEPENDS ${sql_files} ${IM_EMBED_SCRIPT}
    COMMENT "Embedding migrations for ${ARG_NAMESPACE}"
    VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE ${out_cc})
  target_include_directories(${ARG_TARGET} PUBLIC ${CMAKE_CURRENT_BINARY_DIR})
endfunction()
