// Types of the part of ml-logistic-regression (mljs) the DGA trainer uses; the package ships none.
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';

  interface TwoClassModel {
    /** per row of features: the sigmoid score of "not the classifier's class" */
    testScores(features: Matrix): number[];
    toJSON(): { weights: Matrix | number[][] };
  }

  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    classifiers: TwoClassModel[];
    train(X: Matrix, Y: Matrix): void;
    predict(X: Matrix): number[];
  }
}
