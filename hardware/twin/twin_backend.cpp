#include "hardware/twin/twin_backend.hpp"
