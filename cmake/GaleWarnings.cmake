# Warnings are errors throughout the project (GALE_WERROR=OFF to relax locally).
function(gale_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
  if(GALE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
