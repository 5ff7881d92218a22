# SPDX-License-Identifier: LGPL-2.1-or-later
# make bench's plot: each round's grant and return, per kind (the floor,
# passthrud over its socket, over the bus, by default: staged groups; then
# the same with StageIdleGroups=no, beside a floor of their own), as
# jittered points.
#   gnuplot -e "dir='build/results/bench'; rounds=30; day='2026-11-30'" tests/bench/rounds.gp
set terminal svg size 1100,460 font "sans,11"
set output dir."/rounds.svg"
set multiplot layout 1,2 title sprintf("passthrud against the bare sysfs floor, %d alternated rounds each (%s)", rounds, day)
set ylabel "ms"
set xtics ("floor" 0, "socket" 1, "bus" 2, "floor" 3.5, "socket\nunstaged" 4.5, "bus\nunstaged" 5.5)
set xrange [-0.6:6.1]
set yrange [0:*]
jitter(x) = x + 0.3 * (rand(0) - 0.5)
set title "grant: Acquire until the fd works"
plot dir."/rounds-floor.dat" using (jitter(0)):1 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-direct.dat" using (jitter(1)):1 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-bus.dat" using (jitter(2)):1 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-floor-unstaged.dat" using (jitter(3.5)):1 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-direct-unstaged.dat" using (jitter(4.5)):1 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-bus-unstaged.dat" using (jitter(5.5)):1 with points pt 7 ps 0.5 notitle
set title "return: holder exit until available"
plot dir."/rounds-floor.dat" using (jitter(0)):2 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-direct.dat" using (jitter(1)):2 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-bus.dat" using (jitter(2)):2 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-floor-unstaged.dat" using (jitter(3.5)):2 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-direct-unstaged.dat" using (jitter(4.5)):2 with points pt 7 ps 0.5 notitle, \
     dir."/rounds-bus-unstaged.dat" using (jitter(5.5)):2 with points pt 7 ps 0.5 notitle
unset multiplot
