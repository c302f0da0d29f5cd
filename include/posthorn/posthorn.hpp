#pragma once
// posthorn: native peers in Trystero rooms. Everything a user needs.

#include <posthorn/error.hpp>
#include <posthorn/payload.hpp>
#include <posthorn/room.hpp>
#include <posthorn/runtime.hpp>
