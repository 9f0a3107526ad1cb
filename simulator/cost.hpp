#pragma once
// What a run costs: GPU-hours, and money at a price per GPU-hour. One
// definition for simulate-scaling's rows and the planner's (issue 21).
namespace lb::sim {

struct RunCost {
  double gpu_hours = 0;
  double money = 0;  // 0 when no price is given
};

RunCost run_cost(int gpus, double seconds, double price_per_gpu_hour);

}  // namespace lb::sim
