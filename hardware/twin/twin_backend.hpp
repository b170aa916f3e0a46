#pragma once
// The digital-twin backend: a sim/ film and instrument behind the Microscope interface.
// (The full implementation lands with the twin; see issue "The perovskite film digital twin".)
